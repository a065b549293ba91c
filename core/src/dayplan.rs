//! R11 Day plan: a rep's visits for a day with overlap, buffer and too-many warnings, and the awaiting-answer list.
