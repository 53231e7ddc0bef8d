"""One plotly figure as a ``<div>`` of report.html: the page's common look; plotly's JavaScript is the page's, once."""

from __future__ import annotations


def figure_div(figure, div_id: str) -> str:
    """``figure`` drawn in the report's template, as an HTML fragment with the element id ``div_id``."""
    figure.update_layout(template="plotly_white", margin={"l": 60, "r": 20, "t": 40, "b": 50}, height=460)
    return figure.to_html(full_html=False, include_plotlyjs=False, div_id=div_id, config={"displaylogo": False})
