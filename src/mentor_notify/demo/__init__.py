"""The demo: seed data modelled on three organisations, and a summary of it."""

from mentor_notify.demo.seed import load_seed
from mentor_notify.demo.summary import OrganisationSummary, summarize

__all__ = ["OrganisationSummary", "load_seed", "summarize"]
