"""The optimiser: candidates -> model parts -> one MILP as arrays -> solver adapters -> a Plan.

::

    options      SolveOptions (validated once) and the run's SolveBudget
    builder      ModelBuilder and the frozen LinearModel (no solver here)
    part         the ModelPart protocol, PartKind and the part registry
    registry     the built-in part kinds, one registration line each
    costs        per-unit prices of disposal, virgin input, transport and links
    synergies    direct synergies (the default owner of every resource)
    milkrounds   milk rounds, joining the material balances (routing: the route pool)
    water        the water network with contaminant limits, pipes and regeneration
    heat/        the heat network: streams, temperature slots, the part, its flows
    solvers      solve() and write_model(): the adapter a user names
    highs        the HiGHS adapter (highspy): arrays in one call, LP/MPS files, IIS
    pulp_cbc     the PuLP adapter: CBC and any solver PuLP knows
    solution     SolveResult and what every adapter shares
    blocks       independent blocks solved within the budget, in a process pool
    infeasible   why a model is infeasible, in the parts' words
    optimise     the run: parts, model, warm start, blocks, flows, summary
    targets      water and heat targets (pinch) before any cost
"""
