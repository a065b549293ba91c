//! R8 Refusal analytics: refusals for a day, week, month and cumulatively, by product, reason and rep, budget totals, the rep × product matrix, and the change against the previous period.
