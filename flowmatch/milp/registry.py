"""The built-in model parts, registered in the order they join the model.

One line per kind. A new kind of part is one new module defining its
:class:`~flowmatch.milp.part.PartKind` and one line here (see
``docs/architecture.md``). A kind that joins balances (milk rounds) comes
after the kind that declares them (direct synergies).
"""

from __future__ import annotations

from flowmatch.milp import milkrounds, rules, synergies, water
from flowmatch.milp.heat import part as heat
from flowmatch.milp.part import register_part

register_part(synergies.KIND)
register_part(milkrounds.KIND)
register_part(water.KIND)
register_part(heat.KIND)
register_part(rules.KIND)  # last: it bounds what every part before it moves
