//! R10 Customer tiers (ABC): weighted normalised score, A/B/C cut, Pareto view, monthly snapshots, the transition cube and visit-due items.
