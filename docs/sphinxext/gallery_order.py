"""The gallery's order: the order of the user guide, not the alphabet."""

ORDER = [
    "plot_mnist_manifold.py",
    "generate_digits.py",
    "tabular_gaussian.py",
    "pipeline_grid_search.py",
    "conditional_digits.py",
    "anomaly_detection.py",
    "dask_cluster.py",
]


class UserGuideOrder:
    """Sort key of sphinx-gallery's ``within_subsection_order``."""

    def __init__(self, src_dir):
        self.src_dir = src_dir

    def __call__(self, filename):
        if filename.startswith("_"):
            return len(ORDER)  # a helper that conf.py's ignore_pattern leaves out
        if filename not in ORDER:
            raise ValueError(f"Add the new example {filename} to ORDER in {__file__}.")
        return ORDER.index(filename)

    def __repr__(self):
        return "UserGuideOrder"
