"""The heat cascade: recovery of heat and steam between streams and sites.

Every heat resource of an inventory (an energy resource whose type is heat,
steam or hot water, or that gives a temperature) joins one transshipment model
over temperature intervals (Papoulias and Grossmann, 1983). Hot streams
(energy haves) give heat, cold streams (energy wants) take it, across at least
``dt_min_k``; within a zone of sites at zero distance recovery is free, between
zones heat goes over heat links; what is left is bought as hot utility or
rejected to cold utility, and steam may be let down from a higher level to a
lower one directly.

One module a step::

    streams  heat resources -> HeatStreams (temperatures, duties, utility prices)
    slots    HeatStreams -> Slots (the temperature intervals, each duty spread over them)
    part     HeatPart: zones, heat links, let-down and the cascade rows of the MILP
    periods  each period of the year's duties (seasonal streams), and its flows pass
    flows    a solution -> hot-to-cold, hot-utility and cold-utility flow rows
"""

from flowmatch.milp.heat.part import HeatPart, heat_parts
from flowmatch.milp.heat.slots import Slots, build_slots
from flowmatch.milp.heat.streams import (
    HEAT_ROOT,
    STEAM_LEVELS,
    STEAM_ROOT,
    TEMPERATURE_PROPERTIES,
    HeatStreams,
    heat_resource_ids,
    heat_streams,
)

__all__ = ["HeatPart", "HeatStreams", "Slots", "heat_streams", "heat_resource_ids", "heat_parts",
           "build_slots", "HEAT_ROOT", "STEAM_ROOT", "STEAM_LEVELS", "TEMPERATURE_PROPERTIES"]
