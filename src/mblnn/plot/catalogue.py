"""Every figure of a campaign by name, without matplotlib: what the workflow plans from (the table each draws, the
tables drawn over it); :func:`mblnn.plot.figures.draw` draws them."""

#: every figure of a campaign, by name: (its draw function in mblnn.plot.figures, the table it draws, tables drawn
#: over it by keyword).
#: The workflow draws each as results/figures/<name>.png and .pdf.
FIGURES = {
    "phase_diagram": ("phase_diagram_figure", "phase_diagram", {}),
    "critical_field": ("critical_field_figure", "critical_field", {}),
    "disorder_correlation": ("disorder_correlation_figure", "critical_field_realizations", {}),
    "levels_vs_network": ("levels_vs_network_figure", "levels_vs_network", {}),
    "consistency": ("consistency_figure", "consistency", {}),
    "transition_region": ("transition_region_figure", "transition_region", {}),
    "single_realization": ("single_realization_figure", "single_realization", {}),
    "spatial_structure": ("spatial_structure_figure", "spatial_structure", {}),
    "dreams": ("dreams_figure", "dreams", {}),
    "mobility_edge": ("mobility_edge_figure", "mobility_edge", {"crossings": "crossings"}),
    "scaling": ("scaling_figure", "scaling", {}),
    "confusion": ("confusion_figure", "confusion", {}),
}
