"""Document only the members skvae defines and documents, on every class page.

skvae's classes subclass scikit-learn, skorch and torch classes, whose
methods (``get_params``, ``state_dict``, skorch's hooks...) are documented
by those projects, in docstrings written for their own builds. Listing
them here would copy hundreds of entries and their unresolvable references.
The methods that skvae's own mixins provide stay on the page. So do
skvae's overrides of those projects' hooks, when skvae documents them.
"""


def _documented_by_skvae(obj):
    function = obj.fget if isinstance(obj, property) else obj
    module = getattr(function, "__module__", None) or ""
    return module.split(".")[0] == "skvae" and bool(getattr(function, "__doc__", None))


def skip_member(app, what, name, obj, skip, options):
    # autodoc asks about a class's members with what="class", autosummary
    # (for the tables of methods) with the member's own type.
    if what in ("class", "exception", "method", "property", "attribute"):
        if not _documented_by_skvae(obj):
            return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", skip_member)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
