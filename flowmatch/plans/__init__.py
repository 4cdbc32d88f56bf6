"""Plans: what the optimiser decided and how it is kept.

::

    plan      the Plan: flows (every tonne accounted for), routes, summary
    summary   baseline, totals by category, the balance check, summary.json
    folder    the plan folder, written (write_plan) and read (read_plan_folder) in one place
"""
