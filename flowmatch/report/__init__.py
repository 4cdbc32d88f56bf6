"""Reports: a plan folder -> one offline ``report.html`` and ``plan.xlsx``.

Reports read only the plan folder (:mod:`flowmatch.plans.folder`), never the
inventory, so a plan can be reported on wherever it is copied to::

    page       the page: sections, tables, assets; write_report()
    charts     headline figures, Sankeys, what-if comparison and Pareto charts
    sitemap    the map of sites, synergy links and milk-round routes
    format     escaping of user text and numbers with a scale word
    style      the shared font and colours of the figures
    workbook   plan.xlsx, with user text never written as a formula
"""
