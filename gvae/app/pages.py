"""The app's pages, in one table: app.py builds st.navigation from it, the talk file's
`page = "..."` names are checked against it (gvae.app.talk), and the tests walk it.

Plain data (no Streamlit here): a page is its talk-file name, its script, the title and
icon the sidebar shows, the sidebar section it is listed under and its URL path.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Page:
    name: str  # what a talk file's `page = "..."` says
    script: str  # relative to the repository root
    title: str
    icon: str  # a Material Symbols name, as Streamlit writes it
    section: str  # one of SECTIONS
    url_path: str  # "" for the default page, at /


# The sidebar's groups, in order.
SECTIONS = ("Start", "Try it", "The article, §3–§7", "Presenter tools")
START, TRY_IT, ARTICLE, PRESENTER = SECTIONS

PAGES = (
    Page("home", "pages/home.py", "Home", ":material/home:", START, ""),
    Page("train", "pages/train.py", "Train", ":material/model_training:", TRY_IT, "train"),
    Page(
        "latent_editor",
        "pages/latent_editor.py",
        "Latent editor",
        ":material/tune:",
        TRY_IT,
        "latent_editor",
    ),
    Page(
        "playground",
        "pages/playground.py",
        "Gumbel playground",
        ":material/casino:",
        TRY_IT,
        "playground",
    ),
    Page("kl", "pages/kl.py", "§3 KL divergence", ":material/compare_arrows:", ARTICLE, "kl"),
    Page("elbo", "pages/elbo.py", "§4 The ELBO", ":material/functions:", ARTICLE, "elbo"),
    Page(
        "reparameterization",
        "pages/reparameterization.py",
        "§5 Reparameterization",
        ":material/call_split:",
        ARTICLE,
        "reparameterization",
    ),
    Page(
        "gumbel",
        "pages/gumbel.py",
        "§6 Gumbel-Max",
        ":material/stacked_bar_chart:",
        ARTICLE,
        "gumbel",
    ),
    Page(
        "implementation",
        "pages/implementation.py",
        "§7 Implementation",
        ":material/code:",
        ARTICLE,
        "implementation",
    ),
    Page("talk", "pages/talk.py", "Talk", ":material/slideshow:", PRESENTER, "talk"),
    Page(
        "export", "pages/export.py", "Export for slides", ":material/download:", PRESENTER, "export"
    ),
)
DEFAULT = PAGES[0]  # home: what / opens

BY_NAME = {page.name: page for page in PAGES}


def by_section() -> dict[str, list[Page]]:
    """The pages grouped as the sidebar lists them, sections in SECTIONS order."""
    return {section: [p for p in PAGES if p.section == section] for section in SECTIONS}
