"""Inputs: inventory tables -> a validated :class:`~flowmatch.inputs.inventory.Inventory`.

Reading (one reader per format), checking (every problem named by file, row,
column and fix) and normalising what users hand flowmatch, and the data the
rest of the pipeline reads with it::

    inventory    read_inventory / build_inventory and the Inventory itself
    readers      CSV, Parquet, folder, xlsx workbook, params.toml
    problems     where a problem sits in the user's file (table, row, line)
    cells        cell parsing: text, numbers, booleans, month ranges
    columns      each table against its schema, column by column
    assemble     cross-table checks and the normalised tables
    schema       the tables and columns, as data
    units        base units per category, rates to yearly amounts
    taxonomy     the type taxonomy (List of Wastes, water, energy, raw types)
    knowledge    the knowledge base of documented exchanges
    params       prices and factors with documented defaults
    scenario     what-if scenario files applied to an inventory
    describe     the summary `flowmatch describe` prints
    synth        synthetic inventories (synth_world: what they are drawn from)
"""
