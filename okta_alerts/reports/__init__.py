"""Reports: notebooks run by papermill, the helpers their cells call, and the schedule.

Notebooks import :mod:`okta_alerts.reports.cells` only; the papermill runner
(:mod:`okta_alerts.reports.runner`) and the scheduler are for commands.
"""

# How a notebook's last cell (cells.record_figures) hands its key figures to the runner
# (runner.read_figures): an output of this MIME type. Here so that the runner does not import
# the cells, which import the alert check and with it matplotlib.
FIGURES_MIME = "application/json"
