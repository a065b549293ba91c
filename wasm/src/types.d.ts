// Generated from fieldbook-core's serde types by ts-rs (core/src/ts.rs). Do not edit:
// `UPDATE_EXPECT=1 cargo test -p fieldbook-wasm --test ts_types` rewrites it.

export type Account = {
/**
 * Growth potential 1–5.
 */
growth_potential?: number | null,
/**
 * Churn risk 1–5.
 */
churn_risk?: number | null,
/**
 * Payment terms in days.
 */
payment_terms_days?: number | null,
/**
 * The customer's personal plan.
 */
plan?: AccountPlan | null,
};

export type AccountPlan = {
/**
 * Goals for the customer.
 */
goals?: string,
/**
 * Incentive offered.
 */
incentive?: string,
/**
 * Next review of the plan.
 */
next_review?: string | null,
};

export type AtRisk = {
/**
 * In process with no conversation or attempt for this many days is `going_cold`.
 */
going_cold_days: number,
/**
 * This many postponements since the last quote is `needs_final_answer`.
 */
postponements_for_final_answer: number,
};

export type AttemptOutcome = "no_answer" | "busy" | "wrong_number" | "voicemail" | "reached";

export type AwaitingAnswer = {
/**
 * The lead.
 */
lead: LeadId,
/**
 * Company name.
 */
company: string,
/**
 * When the quote was sent.
 */
quote_sent_at: string,
/**
 * Quoted amount.
 */
amount: Money,
/**
 * Calendar days in the rep's zone from the quote's day to today.
 */
days_waiting: number,
/**
 * The date the customer named for the answer (the open next step's due time, when it
 * was agreed with the customer).
 */
decision_due: string | null,
/**
 * `decision_due` as a date in the rep's zone.
 */
decision_date: string | null,
};

export type BudgetRow = {
/**
 * ISO 4217 code.
 */
currency: string,
/**
 * Total in minor units in the period.
 */
minor: number,
/**
 * Total in the previous period (`None` for cumulative).
 */
previous: number | null,
/**
 * `minor - previous`.
 */
change: number | null,
};

export type BudgetTotal = {
/**
 * The team currency.
 */
currency: string,
/**
 * Total in minor units of `currency` in the period.
 */
minor: number,
/**
 * Total in the previous period (`None` for cumulative).
 */
previous: number | null,
/**
 * `minor - previous`.
 */
change: number | null,
/**
 * Currencies of budgets in either period with no rate on their date (left out of the
 * totals), sorted.
 */
missing_rates: Array<string>,
};

export type Cadence = {
/**
 * Attempts before the lead is proposed for closing.
 */
max_attempts: number,
/**
 * Working days from the n-th unsuccessful attempt to the next one; the last entry repeats.
 */
gap_working_days: Array<number>,
/**
 * The refusal reason used when the rep confirms closing an unreachable lead.
 */
close_reason: string,
/**
 * Emails suggested after each attempt.
 */
email_templates: Array<EmailTemplate>,
};

export type CallQueue = {
/**
 * The rep.
 */
rep: MemberId,
/**
 * The rep's local date.
 */
date: string,
/**
 * The moment the queue was computed for.
 */
now: string,
/**
 * The ordered items.
 */
items: Array<QueueItem>,
};

export type Channel = "call" | "visit" | "email" | "sms" | "whatsapp";

export type ClockTime = string;

export type CommandError = { "kind": "missing",
/**
 * The input field.
 */
field: string,
/**
 * What is expected.
 */
problem: Problem,
} | { "kind": "invalid",
/**
 * The input field.
 */
field: string,
/**
 * What is wrong.
 */
problem: Problem,
} | { "kind": "not_now",
/**
 * Why not now.
 */
problem: Problem,
} | { "kind": "refused",
/**
 * The refusal.
 */
refusal: Refusal,
};

export type Conflict = {
/**
 * Stable key, `<topic>:<id>+<id>` with the event ids sorted: what `conflict_resolved`
 * names.
 */
key: string,
/**
 * What the decisions are about.
 */
topic: Topic,
/**
 * The two decisions, by event id.
 */
events: Array<ConflictingEvent>,
/**
 * When the later of the two was recorded.
 */
since: string,
};

export type ConflictingEvent = {
/**
 * The event.
 */
event: EventId,
/**
 * Who recorded it.
 */
by: MemberId,
/**
 * When.
 */
at: string,
} & ({ "type": "won",
/**
 * Deal amount.
 */
amount: Money,
} | { "type": "refusal",
/**
 * Reason key.
 */
reason: string,
} | { "type": "review_decision", } & ({ "decision": "return_to_funnel",
/**
 * What changed.
 */
offer_change: OfferChange,
} | { "decision": "refusal_validated" }) | { "type": "status_override",
/**
 * Status key.
 */
status: string,
} | { "type": "assigned",
/**
 * The owner.
 */
owner: MemberId,
} | { "type": "next_step",
/**
 * What kind.
 */
kind: NextStepKind,
/**
 * When.
 */
due: string,
});

export type ConversationEnd = "next_step" | "final_yes" | "final_no";

export type ConversationInput = {
/**
 * What kind.
 */
kind?: ConversationKind,
/**
 * What was said (required).
 */
notes?: string,
/**
 * The customer's needs.
 */
needs?: string,
/**
 * Ended with a next step.
 */
next_step?: NextStepInput | null,
/**
 * Ended with the customer naming a decision date: the follow-up is due exactly then.
 */
decision_date?: string | null,
/**
 * Ended with the customer needing time: follow-up in the playbook's days, agreed.
 */
needs_time?: boolean,
/**
 * Ended with a final yes.
 */
final_yes?: WonInput | null,
/**
 * Ended with a final no.
 */
final_no?: RefusalInput | null,
};

export type ConversationKind = "call" | "meeting" | "visit" | "demo";

export type Count = {
/**
 * In the period.
 */
n: number,
/**
 * In the previous period (`None` for cumulative).
 */
previous: number | null,
/**
 * `n - previous`.
 */
change: number | null,
};

export type CountRow = {
/**
 * Product id, reason key or member id.
 */
key: string,
/**
 * Display name (the key itself when the team no longer defines it).
 */
label: string,
/**
 * In the period.
 */
n: number,
/**
 * In the previous period (`None` for cumulative).
 */
previous: number | null,
/**
 * `n - previous`.
 */
change: number | null,
};

export type CustomerMetrics = {
/**
 * Revenue per currency (orders in the window), unconverted.
 */
revenue: { [key in string]: number },
/**
 * Revenue in minor units of the team currency (the scored value): orders without a rate
 * on their date are left out (see `missing_rates`).
 */
revenue_minor: number,
/**
 * Gross profit in minor units of the team currency where known (see the module doc).
 */
gross_profit_minor: number | null,
/**
 * Currencies of orders (or their gross profit) in the window with no rate on their date.
 */
missing_rates: Array<string>,
/**
 * Growth potential 1–5.
 */
growth_potential: number | null,
/**
 * Churn risk 1–5.
 */
churn_risk: number | null,
/**
 * Payment terms in days.
 */
payment_terms_days: number | null,
/**
 * Distinct products ordered in the window.
 */
product_breadth: number,
/**
 * Whole months from the win to `as_of`.
 */
tenure_months: number,
/**
 * Orders in the window.
 */
n_orders: number,
};

export type CustomerRow = {
/**
 * The customer (lead).
 */
lead: LeadId,
/**
 * Company name.
 */
company: string,
/**
 * Owner.
 */
owner: MemberId,
/**
 * Raw metrics.
 */
metrics: CustomerMetrics,
/**
 * Normalised metrics.
 */
normalised: NormalisedMetrics,
/**
 * Weighted score, 0..1.
 */
score: number,
/**
 * 1-based rank by score.
 */
rank: number,
/**
 * The tier.
 */
tier: Tier,
/**
 * The customer's personal plan, if any (internal).
 */
plan: AccountPlan | null,
};

export type CustomerSpan = {
/**
 * When the lead became a customer.
 */
from: string,
/**
 * When it stopped being one, if it did.
 */
until: string | null,
};

export type DayPlan = {
/**
 * The rep.
 */
rep: MemberId,
/**
 * The rep's local date.
 */
date: string,
/**
 * Visits by start (ties by lead id).
 */
visits: Array<Visit>,
/**
 * Warnings in visit order, the too-many warning last.
 */
warnings: Array<DayPlanWarning>,
/**
 * Leads awaiting the customer's answer, oldest quote first.
 */
awaiting_answer: Array<AwaitingAnswer>,
};

export type DayPlanPolicy = {
/**
 * Duration of a visit when the next step does not say.
 */
default_visit_minutes: number,
/**
 * Buffer after each visit.
 */
buffer_minutes: number,
/**
 * More visits than this in a day is a warning.
 */
max_visits: number,
};

export type DayPlanWarning = { "kind": "overlap",
/**
 * The earlier visit (the one ending last among those before).
 */
previous: LeadId,
/**
 * The visit that starts too early.
 */
lead: LeadId,
/**
 * Minutes of overlap.
 */
minutes: number,
} | { "kind": "missing_buffer",
/**
 * The earlier visit.
 */
previous: LeadId,
/**
 * The visit that starts too early.
 */
lead: LeadId,
/**
 * Minutes between the end of the earlier visit and this start.
 */
gap_minutes: number,
/**
 * The buffer the playbook asks for.
 */
buffer_minutes: number,
} | { "kind": "too_many_visits",
/**
 * Visits planned.
 */
n_visits: number,
/**
 * The playbook's maximum.
 */
max_visits: number,
};

export type EmailTemplate = {
/**
 * The unsuccessful attempt (1-based) after which this email is suggested.
 */
attempt: number,
/**
 * Subject line.
 */
subject: string,
/**
 * Body.
 */
body: string,
};

export type Event = {
/**
 * Unique id (generated by the device).
 */
id: EventId,
/**
 * When it happened.
 */
at: string,
/**
 * The member who recorded it.
 */
by: MemberId,
/**
 * For a decision (see [`Topic`]): the latest decision of the same topic its author's
 * device knew when recording it, or the lead's `created` event when there was none (R14).
 * A conversation carries the next step it consumed the same way. `None` on events
 * recorded before R14 (their authors' knowledge is unknown, so they never conflict) and
 * on every other kind.
 */
after?: EventId | null,
} & ({ "type": "created" } | { "type": "attempt",
/**
 * How.
 */
channel: Channel,
/**
 * With what result.
 */
outcome: AttemptOutcome,
} | { "type": "conversation",
/**
 * What kind.
 */
kind: ConversationKind,
/**
 * What was said (required, R3).
 */
notes: string,
/**
 * The customer's needs.
 */
needs: string,
/**
 * How it ended (R4).
 */
ended: ConversationEnd,
} | { "type": "next_step",
/**
 * What kind.
 */
kind: NextStepKind,
/**
 * When.
 */
due: string,
/**
 * Agreed with the customer (or only planned by the rep).
 */
agreed: boolean,
/**
 * Planned duration, for visits (R11).
 */
duration_minutes: number | null,
/**
 * Free text.
 */
note: string,
} | { "type": "quote_sent",
/**
 * Quoted amount.
 */
amount: Money,
/**
 * Quoted products.
 */
products: Array<ProductId>,
} | { "type": "materials_requested",
/**
 * What was asked for.
 */
materials: Array<Material>,
} | { "type": "materials_sent",
/**
 * What was sent.
 */
materials: Array<Material>,
} | { "type": "refusal",
/**
 * Key of a playbook refusal reason.
 */
reason: string,
/**
 * Products refused.
 */
products: Array<ProductId>,
/**
 * The customer's budget.
 */
budget: Money | null,
/**
 * Competitor chosen, if any.
 */
competitor: string | null,
/**
 * Free text.
 */
note: string,
} | { "type": "review_decision",
/**
 * Free text.
 */
note: string,
} & ({ "decision": "return_to_funnel",
/**
 * What changed.
 */
offer_change: OfferChange,
} | { "decision": "refusal_validated" }) | { "type": "won",
/**
 * Deal amount.
 */
amount: Money,
/**
 * Products sold.
 */
products: Array<ProductId>,
} | { "type": "order",
/**
 * Order amount.
 */
amount: Money,
/**
 * Gross profit of the order, where known.
 */
gross_profit: Money | null,
/**
 * Products ordered.
 */
products: Array<ProductId>,
} | { "type": "assigned",
/**
 * The new owner.
 */
owner: MemberId,
} | { "type": "status_override",
/**
 * Key of a playbook status.
 */
status: string,
/**
 * Why.
 */
reason: string,
} | { "type": "conflict_resolved",
/**
 * The key of the conflict settled.
 */
conflict: string,
/**
 * The one of its events that stands; the others are overruled (kept in the history,
 * skipped by the rules). `None`: they all stand, only the conflict is closed.
 */
keep?: EventId | null,
/**
 * How.
 */
note: string,
});

export type EventId = string;

export type ExchangeRate = {
/**
 * The ISO 4217 code converted from.
 */
currency: string,
/**
 * The first day this rate applies to (UTC dates).
 */
date: string,
/**
 * Team-currency units per unit of `currency`.
 */
rate: Rate,
};

export type Flag = "respond_now" | "late_response" | "response_decaying" | "stale_new" | "voicemail_hint" | "propose_close" | "no_next_step" | "overdue" | "going_cold" | "needs_final_answer" | "awaiting_review" | "do_not_contact" | "conflict" | "no_exchange_rate";

export type FollowUpSource = "next_step" | "first_contact" | "review_return" | "reactivation";

export type FollowUps = {
/**
 * R3: days from reaching Initial contact to the follow-up call when no next step exists.
 */
first_conversation_days: number,
/**
 * R4: days to the follow-up when the customer "needs time".
 */
needs_time_days: number,
/**
 * R7: working days from a manager's return-to-funnel to the rep's follow-up.
 */
review_return_working_days: number,
/**
 * R12: working days to send requested materials.
 */
materials_working_days: number,
};

export type Funnel = {
/**
 * Per status.
 */
statuses: Array<StatusCount>,
/**
 * All leads counted.
 */
total: number,
};

export type InboxItem = {
/**
 * The lead.
 */
lead: LeadId,
/**
 * Company.
 */
company: string,
/**
 * The rep who owns the lead.
 */
rep: MemberId,
/**
 * Since when it waits.
 */
since: string,
} & ({ "kind": "conflict",
/**
 * The conflict's key, for `resolve_conflict`.
 */
key: string,
/**
 * What the decisions are about.
 */
topic: Topic,
/**
 * The decisions, who made them and when.
 */
events: Array<ConflictingEvent>,
} | { "kind": "refusal_review",
/**
 * The `refusal` event.
 */
refusal: EventId,
/**
 * Reason key.
 */
reason: string,
/**
 * Reason label.
 */
reason_label: string,
} | { "kind": "stale_new" });

export type Label = {
/**
 * Member id or product id.
 */
key: string,
/**
 * Display name.
 */
label: string,
};

export type Lead = {
/**
 * Generated on the device that created the lead.
 */
id: LeadId,
/**
 * Company name.
 */
company: string,
/**
 * Contact person.
 */
contact: string,
/**
 * Phone number.
 */
phone: string,
/**
 * Email address.
 */
email: string,
/**
 * Postal or visit address.
 */
address: string,
/**
 * Where the lead came from (web form, fair, referral…).
 */
source: string,
/**
 * Products of interest.
 */
products: Array<ProductId>,
/**
 * Expected deal value.
 */
deal_size: Money | null,
/**
 * The rep who owns the lead.
 */
owner: MemberId,
/**
 * When the lead was created.
 */
created_at: string,
/**
 * The customer asked not to be contacted: no queue, no mailing list (R9).
 */
do_not_contact: boolean,
/**
 * Account facts used by the customer tiers (R10).
 */
account: Account,
/**
 * Team-defined fields.
 */
custom: { [key in string]: string },
/**
 * The history, in any stored order (the rules sort it).
 */
events: Array<Event>,
};

export type LeadActions = {
/**
 * Record attempts, conversations, next steps, refusals, wins, orders, materials asked for,
 * and edit the lead's details: the member may write the lead.
 */
work: boolean,
/**
 * Close the lead as unreachable: the no-answer cadence is used up (R2).
 */
confirm_close: boolean,
/**
 * Record that the requested materials were sent (R12).
 */
send_materials: boolean,
/**
 * Decide on the refusal waiting for review (R7).
 */
review: boolean,
/**
 * Set the status by hand.
 */
override_status: boolean,
/**
 * Settle the lead's open conflicts (R14).
 */
resolve_conflicts: boolean,
/**
 * The members the lead may be handed to (empty: the member may not reassign it).
 */
reassign_to: Array<MemberId>,
};

export type LeadCommand = { "type": "log_attempt",
/**
 * How.
 */
channel: Channel,
/**
 * With what result.
 */
outcome: AttemptOutcome,
} | { "type": "log_conversation" } & ConversationInput | { "type": "set_next_step" } & NextStepInput | { "type": "record_refusal" } & RefusalInput | { "type": "confirm_close_unreachable" } | { "type": "review_refusal",
/**
 * The decision.
 */
decision: ReviewDecision,
/**
 * Free text.
 */
note?: string,
} | { "type": "mark_won" } & WonInput | { "type": "record_order",
/**
 * Order amount.
 */
amount: Money,
/**
 * Gross profit, where known.
 */
gross_profit?: Money | null,
/**
 * Products ordered.
 */
products?: Array<ProductId>,
} | { "type": "request_materials",
/**
 * What.
 */
materials: Array<Material>,
} | { "type": "send_materials",
/**
 * What.
 */
materials: Array<Material>,
} | { "type": "assign",
/**
 * The new owner.
 */
owner: MemberId,
} | { "type": "override_status",
/**
 * Key of a playbook status.
 */
status: string,
/**
 * Why.
 */
reason: string,
} | { "type": "resolve_conflict",
/**
 * The conflict's key.
 */
conflict: string,
/**
 * The event that stands, if one does.
 */
keep?: EventId | null,
/**
 * Free text.
 */
note?: string,
} | { "type": "edit" } & LeadEdit;

export type LeadEdit = {
/**
 * Company name.
 */
company?: string | null,
/**
 * Contact person.
 */
contact?: string | null,
/**
 * Phone number.
 */
phone?: string | null,
/**
 * Email address (`""` clears it).
 */
email?: string | null,
/**
 * Address.
 */
address?: string | null,
/**
 * Source.
 */
source?: string | null,
/**
 * Products of interest, the whole list.
 */
products?: Array<ProductId> | null,
/**
 * Deal size: `Some(None)` (JSON `null`) clears it.
 */
deal_size?: Money | null | null,
/**
 * Do-not-contact.
 */
do_not_contact?: boolean | null,
/**
 * Account facts, the whole object.
 */
account?: Account | null,
/**
 * Team-defined fields, the whole map.
 */
custom?: { [key in string]: string } | null,
};

export type LeadFacts = {
/**
 * The lead.
 */
id: LeadId,
/**
 * Company name (for reasons and lists).
 */
company: string,
/**
 * Contact person (for suggested emails).
 */
contact: string,
/**
 * Current owner: the latest `assigned` event that stands, else the lead's `owner` field.
 */
owner: MemberId,
/**
 * Creation time.
 */
created_at: string,
/**
 * Expected deal value.
 */
deal_size: Money | null,
/**
 * The customer asked not to be contacted.
 */
do_not_contact: boolean,
/**
 * Status role after all events (R13's time-based Dormant is applied when deriving).
 */
role: StatusRole,
/**
 * The status key set by a manager's override still in force.
 */
status_override: string | null,
/**
 * Number of contact attempts.
 */
n_attempts: number,
/**
 * First attempt (speed to lead).
 */
first_attempt_at: string | null,
/**
 * Last attempt.
 */
last_attempt_at: string | null,
/**
 * Outcome of the last attempt.
 */
last_attempt_outcome: AttemptOutcome | null,
/**
 * Unsuccessful attempts in the current no-answer run (R2).
 */
n_failed_attempts: number,
/**
 * Number of conversations.
 */
n_conversations: number,
/**
 * Last conversation.
 */
last_conversation_at: string | null,
/**
 * Last attempt or conversation.
 */
last_contact_at: string | null,
/**
 * When Initial contact was last entered (R3).
 */
initial_contact_at: string | null,
/**
 * When a next step was last recorded.
 */
last_next_step_at: string | null,
/**
 * The open next step.
 */
next_step: OpenNextStep | null,
/**
 * Conversations that ended with another next step since the last quote (R5).
 */
postponements: number,
/**
 * A quote out with no yes or no yet.
 */
quote_out: QuoteOut | null,
/**
 * When the lead was last closed as Not interested.
 */
lost_at: string | null,
/**
 * A refusal waiting for review (R7).
 */
pending_review: PendingReview | null,
/**
 * When a manager last decided on a refusal.
 */
last_review_at: string | null,
/**
 * When nurture started (R9): the manager validated the refusal (R7), or the lead was
 * closed without needing a review (R2's unreachable close, a manager's status). `None`
 * while a refusal waits for review and whenever the lead is not Not interested.
 */
nurture_since: string | null,
/**
 * A return-to-funnel whose follow-up is still to be done (R7).
 */
returned_at: string | null,
/**
 * When the lead was won.
 */
won_at: string | null,
/**
 * Last order.
 */
last_order_at: string | null,
/**
 * Last visit (visit attempt, or meeting/visit/demo conversation).
 */
last_visit_at: string | null,
/**
 * Oldest materials request not yet answered by `materials_sent` (R12).
 */
materials_requested_at: string | null,
/**
 * Account facts of a customer (R10).
 */
account: Account,
/**
 * Every refusal that stands, in canonical order (R8).
 */
refusals: Array<RefusalFact>,
/**
 * Every order, in canonical order (R10).
 */
orders: Array<OrderFact>,
/**
 * When the lead was a customer (R10).
 */
customer_spans: Array<CustomerSpan>,
/**
 * The latest decision of each topic: what new decisions record as `after` (R14).
 */
heads: TopicHeads,
/**
 * Open semantic conflicts, by key (R14).
 */
conflicts: Array<Conflict>,
/**
 * Events overruled by a conflict resolution, sorted: in the history, skipped by the
 * rules (R14).
 */
overruled: Array<EventId>,
};

export type LeadId = string;

export type LeadState = {
/**
 * The lead.
 */
lead: LeadId,
/**
 * The owner.
 */
owner: MemberId,
/**
 * Status key (the team's status for the role, or the override in force).
 */
status: string,
/**
 * Status label in the team's language.
 */
label: string,
/**
 * Built-in role of the status.
 */
role: StatusRole,
/**
 * Flags, sorted.
 */
flags: Array<Flag>,
/**
 * Open tasks, by due time.
 */
tasks: Array<Task>,
/**
 * On the nurture mailing list (R9).
 */
mailing_list: boolean,
};

export type LeadView = {
/**
 * The document's schema version (newer than this build's: read-only here).
 */
schema: number,
/**
 * The lead with every event that decoded.
 */
lead: Lead,
/**
 * Its derived state at the moment asked for.
 */
state: LeadState,
/**
 * Events this version could not decode (left untouched in the document).
 */
undecodable: number,
/**
 * What the member may do with the lead now (the write model's answer; none on a
 * document of a newer schema, which this version only reads).
 */
actions: LeadActions,
};

export type Material = "references" | "company_profile" | "price_list";

export type MatrixCell = {
/**
 * Member id of the rep who recorded the refusals.
 */
rep: string,
/**
 * Product id.
 */
product: string,
/**
 * In the period.
 */
n: number,
/**
 * In the previous period (`None` for cumulative).
 */
previous: number | null,
/**
 * `n - previous`.
 */
change: number | null,
};

export type Member = {
/**
 * Stable id.
 */
id: MemberId,
/**
 * Display name.
 */
name: string,
/**
 * Role.
 */
role: Role,
/**
 * The member's manager (for reps).
 */
manager: MemberId | null,
/**
 * IANA time zone, e.g. `Asia/Jerusalem`.
 */
time_zone: string,
/**
 * Overrides the playbook's working week.
 */
working_week: WorkingWeek | null,
/**
 * BCP 47 locale for dates and money, e.g. `he-IL`.
 */
locale: string,
};

export type MemberId = string;

export type MissingRate = {
/**
 * The ISO 4217 code that needs a rate.
 */
currency: string,
/**
 * The earliest date an amount needs a rate for: a rate dated on or before it covers
 * every amount of the currency (later rates are used for later amounts).
 */
needed_from: string,
/**
 * Leads with such an amount.
 */
n_leads: number,
/**
 * Up to five of those leads, in the order of `leads`.
 */
examples: Array<LeadId>,
};

export type Money = {
/**
 * Amount in minor units (e.g. 1500000 = 15,000.00).
 */
minor: number,
/**
 * ISO 4217 code, e.g. `ILS`, `RON`, `EUR`.
 */
currency: string,
};

export type NewLead = {
/**
 * The lead's id, generated by the device (the lead document's id).
 */
id?: LeadId,
/**
 * Company name (this or `contact` is required).
 */
company?: string,
/**
 * Contact person.
 */
contact?: string,
/**
 * Phone number.
 */
phone?: string,
/**
 * Email address.
 */
email?: string,
/**
 * Postal or visit address.
 */
address?: string,
/**
 * Where the lead came from.
 */
source?: string,
/**
 * Products of interest (products of the team).
 */
products?: Array<ProductId>,
/**
 * Expected deal value.
 */
deal_size?: Money | null,
/**
 * The owner; default: the author. A rep may only create leads they own.
 */
owner?: MemberId | null,
/**
 * The customer asked not to be contacted.
 */
do_not_contact?: boolean,
/**
 * Account facts (R10).
 */
account?: Account,
/**
 * Team-defined fields.
 */
custom?: { [key in string]: string },
};

export type NextStepInput = {
/**
 * What kind.
 */
kind: NextStepKind,
/**
 * When.
 */
due: string,
/**
 * Agreed with the customer.
 */
agreed?: boolean,
/**
 * Planned duration (visits).
 */
duration_minutes?: number | null,
/**
 * Free text.
 */
note?: string,
};

export type NextStepKind = "call" | "meeting" | "demo" | "quote_follow_up" | "visit";

export type NormalisedMetrics = {
/**
 * Revenue.
 */
revenue: number,
/**
 * Gross profit.
 */
gross_profit: number,
/**
 * Growth potential.
 */
growth_potential: number,
/**
 * Churn risk, inverted.
 */
churn_risk: number,
/**
 * Payment terms, inverted.
 */
payment_terms: number,
/**
 * Product breadth.
 */
product_breadth: number,
/**
 * Tenure.
 */
tenure: number,
};

export type OfferChange = "discount" | "payment_terms" | "modified_offer";

export type OpenNextStep = {
/**
 * The `next_step` event.
 */
event: EventId,
/**
 * What kind.
 */
kind: NextStepKind,
/**
 * When it is due.
 */
due: string,
/**
 * Agreed with the customer.
 */
agreed: boolean,
/**
 * Planned duration (visits).
 */
duration_minutes: number | null,
};

export type OrderFact = {
/**
 * When.
 */
at: string,
/**
 * Amount.
 */
amount: Money,
/**
 * Gross profit, where known.
 */
gross_profit: Money | null,
/**
 * Products ordered.
 */
products: Array<ProductId>,
};

export type OwnerProblem = "not_a_member" | "admin";

export type ParetoRow = {
/**
 * The customer.
 */
lead: LeadId,
/**
 * Company name.
 */
company: string,
/**
 * Revenue in minor units of the team currency.
 */
revenue_minor: number,
/**
 * Share of the total revenue, percent.
 */
share_percent: number,
/**
 * Cumulative share up to and including this customer, percent.
 */
cumulative_percent: number,
/**
 * One of the customers that make `pareto_percent` of revenue.
 */
in_pareto: boolean,
};

export type ParetoView = {
/**
 * The share looked at, percent.
 */
pareto_percent: number,
/**
 * The team currency of every converted figure.
 */
currency: string,
/**
 * Total revenue in minor units of the team currency.
 */
total_revenue_minor: number,
/**
 * Total revenue per currency, unconverted.
 */
revenue_by_currency: { [key in string]: number },
/**
 * Currencies with revenue that has no rate on its date (left out of the converted
 * figures).
 */
missing_rates: Array<string>,
/**
 * Customers marked `in_pareto`.
 */
n_in_pareto: number,
/**
 * Every customer.
 */
customers: Array<ParetoRow>,
};

export type PendingReview = {
/**
 * The `refusal` event.
 */
refusal: EventId,
/**
 * When it was recorded.
 */
at: string,
/**
 * Who recorded it.
 */
by: MemberId,
/**
 * Refusal reason key.
 */
reason: string,
};

export type Period = "day" | "week" | "month" | "cumulative";

export type Playbook = {
/**
 * Pipeline statuses; the first status of each role is the one the rules move leads to.
 */
statuses: Array<StatusDef>,
/**
 * Refusal reasons.
 */
refusal_reasons: Array<RefusalReason>,
/**
 * The team's default working week (members may override).
 */
working_week: WorkingWeek,
/**
 * R1.
 */
speed_to_lead: SpeedToLeadPolicy,
/**
 * R2.
 */
cadence: Cadence,
/**
 * R3, R4, R7, R12.
 */
follow_ups: FollowUps,
/**
 * R5.
 */
at_risk: AtRisk,
/**
 * R9: days between nurture re-contacts of Not interested leads.
 */
nurture_every_days: number,
/**
 * R13: days without order or conversation before a customer is inactive.
 */
dormant_after_days: number,
/**
 * R10.
 */
tiers: TierPolicy,
/**
 * R11.
 */
day_plan: DayPlanPolicy,
/**
 * The team currency (ISO 4217): orderings and totals are in it (SPEC §2).
 */
currency: string,
/**
 * Dated rates into the team currency; an amount in another currency without a rate on its
 * date is never mixed into a total or an ordering (see `crate::money`).
 */
exchange_rates: Array<ExchangeRate>,
/**
 * Who may reassign leads (`crate::write`).
 */
reassignment: Reassignment,
};

export type PlaybookProblem = { "code": "no_status_for_role",
/**
 * The role.
 */
role: StatusRole,
} | { "code": "empty_key" } | { "code": "duplicate_key",
/**
 * The key.
 */
key: string,
} | { "code": "close_reason_unknown",
/**
 * The reason.
 */
reason: string,
} | { "code": "at_least_one" } | { "code": "start_after_end" } | { "code": "currency_code",
/**
 * The code given.
 */
currency: string,
} | { "code": "rate_for_team_currency",
/**
 * The currency.
 */
currency: string,
} | { "code": "rate_twice",
/**
 * The currency.
 */
currency: string,
/**
 * The date.
 */
date: string,
/**
 * The index of the other rate.
 */
other: number,
} | { "code": "tier_shares",
/**
 * Their sum.
 */
total: number,
} | { "code": "percent" } | { "code": "weights_finite" } | { "code": "weight_positive" };

export type Problem = { "code": "notes_missing" } | { "code": "ending_missing" } | { "code": "endings_conflict",
/**
 * The endings given.
 */
endings: Array<string>,
} | { "code": "ending_not_recorded",
/**
 * The event type the ending needs: `next_step`, `won` or `refusal`.
 */
kind: string,
} | { "code": "due_too_early",
/**
 * The time of recording.
 */
now: string,
/**
 * The due time given.
 */
due: string,
} | { "code": "duration_zero" } | { "code": "decision_date_too_early",
/**
 * Now.
 */
now: string,
/**
 * The date given.
 */
date: string,
} | { "code": "reason_missing",
/**
 * The playbook's reasons.
 */
known: Array<string>,
} | { "code": "unknown_reason",
/**
 * The reason given.
 */
reason: string,
/**
 * The playbook's reasons.
 */
known: Array<string>,
} | { "code": "refusal_products" } | { "code": "budget_missing" } | { "code": "negative" } | { "code": "not_positive" } | { "code": "currency_code",
/**
 * The code given.
 */
currency: string,
} | { "code": "profit_currency",
/**
 * The profit's currency.
 */
profit: string,
/**
 * The order's currency.
 */
order: string,
} | { "code": "order_products" } | { "code": "materials_to_request" } | { "code": "materials_sent" } | { "code": "no_pending_review",
/**
 * The lead.
 */
lead: LeadId,
} | { "code": "cadence_not_used_up",
/**
 * Attempts needed.
 */
needed: number,
/**
 * Attempts made.
 */
has: number,
} | { "code": "no_materials_request",
/**
 * The lead.
 */
lead: LeadId,
} | { "code": "already_owner",
/**
 * The owner.
 */
owner: MemberId,
} | { "code": "unknown_status",
/**
 * The status given.
 */
status: string,
/**
 * The playbook's statuses.
 */
known: Array<string>,
} | { "code": "override_reason" } | { "code": "conflict_missing",
/**
 * The open conflicts.
 */
open: Array<string>,
} | { "code": "unknown_conflict",
/**
 * The key given.
 */
key: string,
/**
 * The lead.
 */
lead: LeadId,
/**
 * The open conflicts.
 */
open: Array<string>,
} | { "code": "keep_not_in_conflict",
/**
 * The event given.
 */
keep: EventId,
/**
 * The conflict's events.
 */
events: Array<string>,
} | { "code": "lead_id_missing" } | { "code": "company_or_contact" } | { "code": "keep_company_or_contact" } | { "code": "email",
/**
 * The address given.
 */
email: string,
} | { "code": "deal_negative" } | { "code": "unknown_product",
/**
 * The product given.
 */
product: string,
/**
 * The team's products.
 */
known: Array<string>,
} | { "code": "product_twice",
/**
 * The product.
 */
product: string,
} | { "code": "one_to_five",
/**
 * The value given.
 */
value: number,
} | { "code": "custom_name" } | { "code": "nothing_to_edit" } | { "code": "owner",
/**
 * Why.
 */
refusal: Refusal,
} | { "code": "playbook",
/**
 * What is wrong with it.
 */
playbook: PlaybookProblem,
};

export type Product = {
/**
 * Stable id.
 */
id: ProductId,
/**
 * Display name.
 */
name: string,
};

export type ProductId = string;

export type QueueItem = {
/**
 * 1-based position.
 */
position: number,
/**
 * Index of the lead in the slice the queue was computed from.
 */
lead_idx: number,
/**
 * The lead.
 */
lead: LeadId,
/**
 * The queue tier.
 */
tier: QueueTier,
/**
 * When the call became due.
 */
due: string,
/**
 * Why the lead is in the queue.
 */
reason: QueueReason,
};

export type QueueReason = { "kind": "new_lead",
/**
 * When the lead was created.
 */
created_at: string,
/**
 * Calendar days from its creation to today, in the owner's zone (0: today).
 */
days_ago: number,
} | { "kind": "follow_up",
/**
 * Which rule scheduled it.
 */
source: FollowUpSource,
/**
 * Agreed with the customer.
 */
agreed: boolean,
/**
 * The deal size.
 */
deal: Money | null,
/**
 * The deal's currency has no rate to the team currency today: the lead is ordered as
 * one without a deal size.
 */
missing_rate: boolean,
} | { "kind": "no_answer_retry",
/**
 * 1-based number of the attempt to make.
 */
attempt: number,
/**
 * Attempts of the cadence.
 */
max_attempts: number,
/**
 * When the lead was last tried.
 */
last_attempt_at: string,
/**
 * Calendar days from the last attempt to today, in the owner's zone (1: yesterday).
 */
days_ago: number,
} | { "kind": "nurture",
/**
 * When the lead was closed as Not interested.
 */
lost_at: string | null,
} | { "kind": "visit_due",
/**
 * The customer's tier.
 */
tier: Tier,
};

export type QueueTier = "new_lead" | "follow_up" | "no_answer_retry" | "recontact";

export type QuoteOut = {
/**
 * When the quote was sent.
 */
at: string,
/**
 * Quoted amount.
 */
amount: Money,
};

export type Rate = string;

export type Reassignment = "managers" | "admins" | "owners";

export type Refusal = { "code": "not_a_member",
/**
 * Who wrote.
 */
writer: MemberId,
} | { "code": "read_only",
/**
 * Who wrote.
 */
writer: MemberId,
} | { "code": "reserved_id",
/**
 * The document id.
 */
doc: string,
} | { "code": "not_readable",
/**
 * `lead` or `team`.
 */
kind: string,
/**
 * Why.
 */
reason: string,
} | { "code": "newer_schema",
/**
 * The document's.
 */
found: number,
/**
 * This version's.
 */
known: number,
} | { "code": "unknown_field",
/**
 * The key.
 */
field: string,
} | { "code": "field_immutable",
/**
 * The field.
 */
field: string,
} | { "code": "event_changed",
/**
 * The event.
 */
event: string,
} | { "code": "unknown_event_kind",
/**
 * The event.
 */
event: string,
/**
 * Its `type`.
 */
kind: string,
} | { "code": "bad_event",
/**
 * The event.
 */
event: string,
/**
 * Why.
 */
reason: string,
} | { "code": "wrong_author",
/**
 * The event.
 */
event: EventId,
/**
 * Its `by`.
 */
by: MemberId,
/**
 * The writer.
 */
writer: MemberId,
} | { "code": "kind_not_allowed",
/**
 * The writer.
 */
writer: MemberId,
/**
 * Their role.
 */
role: Role,
/**
 * The event's `type`.
 */
kind: string,
} | { "code": "may_not_reassign",
/**
 * The writer.
 */
writer: MemberId,
/**
 * Their role.
 */
role: Role,
/**
 * The playbook's setting.
 */
allowed: Reassignment,
} | { "code": "may_not_own",
/**
 * The would-be owner.
 */
owner: MemberId,
/**
 * Why.
 */
why: OwnerProblem,
} | { "code": "not_theirs",
/**
 * The creator.
 */
creator: MemberId,
/**
 * Their role.
 */
role: Role,
/**
 * The lead's owner.
 */
owner: MemberId,
} | { "code": "too_many_leads",
/**
 * The owner.
 */
owner: MemberId,
/**
 * Leads owned.
 */
count: number,
/**
 * The limit.
 */
limit: number,
} | { "code": "owner_mismatch",
/**
 * The field's value.
 */
field: MemberId,
/**
 * The folded owner.
 */
folded: MemberId,
} | { "code": "owner_without_assignment" } | { "code": "no_created_event" } | { "code": "manager_team_edit" } | { "code": "invalid_playbook",
/**
 * The playbook field.
 */
field: string,
/**
 * What is wrong.
 */
message: string,
} | { "code": "member_owns_leads",
/**
 * The member.
 */
member: MemberId,
/**
 * Leads they own.
 */
count: number,
};

export type RefusalFact = {
/**
 * The `refusal` event.
 */
event: EventId,
/**
 * When.
 */
at: string,
/**
 * Who recorded it.
 */
by: MemberId,
/**
 * Reason key.
 */
reason: string,
/**
 * Products refused.
 */
products: Array<ProductId>,
/**
 * The customer's budget.
 */
budget: Money | null,
};

export type RefusalInput = {
/**
 * Key of a playbook refusal reason.
 */
reason: string,
/**
 * Products refused.
 */
products?: Array<ProductId>,
/**
 * The customer's budget.
 */
budget?: Money | null,
/**
 * Competitor chosen.
 */
competitor?: string | null,
/**
 * Free text.
 */
note?: string,
};

export type RefusalMatrix = {
/**
 * Rows.
 */
reps: Array<Label>,
/**
 * Columns.
 */
products: Array<Label>,
/**
 * Non-empty cells, by rep then product in axis order.
 */
cells: Array<MatrixCell>,
};

export type RefusalReason = {
/**
 * Stable key stored in `refusal` events.
 */
key: string,
/**
 * Label in the team's language.
 */
label: string,
/**
 * Whether recording it requires the customer's budget (R7). `unreachable` does not.
 */
requires_budget: boolean,
/**
 * Whether it creates a review task for the manager (R7). `unreachable` does not.
 */
needs_review: boolean,
};

export type RefusalReport = {
/**
 * Which period.
 */
period: Period,
/**
 * The period's span.
 */
span: Span,
/**
 * The previous period's span (`None` for cumulative).
 */
previous_span: Span | null,
/**
 * Number of refusals.
 */
refusals: Count,
/**
 * By product, in team product order.
 */
by_product: Array<CountRow>,
/**
 * By reason, in playbook order.
 */
by_reason: Array<CountRow>,
/**
 * By the member who recorded the refusal, in team order.
 */
by_rep: Array<CountRow>,
/**
 * Total budget of refusing clients, per currency.
 */
budget: Array<BudgetRow>,
/**
 * The same budgets converted to the team currency.
 */
budget_total: BudgetTotal,
/**
 * The rep × product matrix.
 */
matrix: RefusalMatrix,
};

export type RefusalReports = {
/**
 * Today.
 */
day: RefusalReport,
/**
 * This week.
 */
week: RefusalReport,
/**
 * This month.
 */
month: RefusalReport,
/**
 * Everything so far.
 */
cumulative: RefusalReport,
};

export type RefusedChange = {
/**
 * The document.
 */
doc: string,
/**
 * The lead, when the document is one.
 */
lead: LeadId | null,
/**
 * Its company (or contact), to name it.
 */
name: string,
/**
 * Why the relay refused it, as a code with parameters (absent from relays that do not say).
 */
refusal: Refusal | null,
/**
 * The relay's message, in English.
 */
message: string,
/**
 * Events of this device that the write model refuses on the relay's copy: not kept.
 */
dropped_events: Array<EventId>,
/**
 * The lead was new and the relay did not take it: it is gone from this device.
 */
removed: boolean,
/**
 * The write carried changes this device did not make (the relay lost them): the device
 * keeps its copy and offers it again once their author's device has re-sent them.
 */
held: boolean,
};

export type RepSpeed = {
/**
 * The owner.
 */
rep: MemberId,
/**
 * Display name (the id when the member is gone).
 */
name: string,
/**
 * Leads counted.
 */
n_leads: number,
/**
 * Leads with at least one attempt.
 */
n_with_attempt: number,
/**
 * Leads still New: no attempt and no conversation yet.
 */
n_without_attempt: number,
/**
 * Median whole minutes from creation to the first attempt over the leads with an
 * attempt (the mean of the two middle values for an even count); `None` when no lead has
 * an attempt. An attempt stamped before the creation (clock skew) counts as 0 minutes.
 */
median_minutes: number | null,
};

export type ReviewDecision = { "decision": "return_to_funnel",
/**
 * What changed.
 */
offer_change: OfferChange,
} | { "decision": "refusal_validated" };

export type Role = "rep" | "manager" | "admin";

export type Span = {
/**
 * First instant inside, if bounded.
 */
start: string | null,
/**
 * First instant after.
 */
end: string,
};

export type SpeedToLead = {
/**
 * Per owner, in team member order, then unknown owners by id; only owners of a lead.
 */
by_rep: Array<RepSpeed>,
/**
 * Leads counted.
 */
n_leads: number,
/**
 * Leads with at least one attempt.
 */
n_with_attempt: number,
/**
 * Leads still New: no attempt and no conversation yet.
 */
n_without_attempt: number,
/**
 * Median whole minutes from creation to the first attempt over the leads with an
 * attempt (the mean of the two middle values for an even count); `None` when no lead has
 * an attempt. An attempt stamped before the creation (clock skew) counts as 0 minutes.
 */
median_minutes: number | null,
};

export type SpeedToLeadPolicy = {
/**
 * First attempt due within this many minutes of creation.
 */
respond_within_minutes: number,
/**
 * From this age a New lead is `response_decaying`.
 */
decaying_after_hours: number,
/**
 * From this age a New lead is `stale_new` and reported to the manager.
 */
stale_after_hours: number,
};

export type StatusCount = {
/**
 * Status key.
 */
status: string,
/**
 * Label in the team's language.
 */
label: string,
/**
 * Built-in role.
 */
role: StatusRole,
/**
 * Leads in the status.
 */
n: number,
};

export type StatusDef = {
/**
 * Stable key stored in events (`status_override`) and reports.
 */
key: string,
/**
 * Label in the team's language.
 */
label: string,
/**
 * The built-in role the rules apply to it.
 */
role: StatusRole,
};

export type StatusRole = "new" | "no_answer" | "initial_contact" | "in_process" | "lost" | "won" | "dormant";

export type SuggestedEmail = {
/**
 * Subject.
 */
subject: string,
/**
 * Body.
 */
body: string,
};

export type Task = {
/**
 * The rule that created it, e.g. `R2`.
 */
rule: string,
/**
 * When it is due.
 */
due: string,
/**
 * Who should do it.
 */
assignee: MemberId,
/**
 * A suggested email to send with it.
 */
email?: SuggestedEmail,
} & ({ "kind": "first_attempt" } | { "kind": "next_attempt",
/**
 * 1-based number of the attempt to make.
 */
attempt: number,
} | { "kind": "confirm_close" } | { "kind": "follow_up_call" } | { "kind": "next_step",
/**
 * Kind of next step.
 */
step: NextStepKind,
/**
 * Agreed with the customer.
 */
agreed: boolean,
} | { "kind": "review_refusal" } | { "kind": "return_follow_up" } | { "kind": "nurture_recontact" } | { "kind": "send_materials" } | { "kind": "reactivation" } | { "kind": "resolve_conflict",
/**
 * The conflict's key.
 */
conflict: string,
});

export type Team = {
/**
 * Stable id.
 */
id: TeamId,
/**
 * Display name.
 */
name: string,
/**
 * Members.
 */
members: Array<Member>,
/**
 * Products.
 */
products: Array<Product>,
/**
 * The rules' numbers and lists.
 */
playbook: Playbook,
};

export type TeamCommand = { "type": "set_playbook",
/**
 * The new playbook, checked with [`Playbook::validate`].
 */
playbook: Playbook,
};

export type TeamId = string;

export type Tier = "A" | "B" | "C";

export type TierCounts = {
/**
 * Tier A.
 */
a: number,
/**
 * Tier B.
 */
b: number,
/**
 * Tier C.
 */
c: number,
};

export type TierCube = {
/**
 * Earlier month.
 */
from_month: string,
/**
 * Later month.
 */
to_month: string,
/**
 * Customers in both, by (earlier, later) tier.
 */
moves: Array<TierMove>,
/**
 * Customers only in the later snapshot, by their tier there.
 */
new: TierCounts,
/**
 * Customers only in the earlier snapshot, by their tier there.
 */
gone: TierCounts,
/**
 * Customers in both that moved to a better tier.
 */
n_up: number,
/**
 * Customers in both that moved to a worse tier.
 */
n_down: number,
};

export type TierMove = {
/**
 * Tier in the earlier snapshot.
 */
from: Tier,
/**
 * Tier in the later one.
 */
to: Tier,
/**
 * Customers.
 */
n: number,
};

export type TierPolicy = {
/**
 * Score weights.
 */
weights: TierWeights,
/**
 * Share of customers (by score) in tier A, percent.
 */
a_percent: number,
/**
 * Share of customers in tier B, percent (the rest are C).
 */
b_percent: number,
/**
 * The Pareto view: customers making this share of revenue, percent.
 */
pareto_percent: number,
/**
 * Trailing window of the metrics, months.
 */
window_months: number,
/**
 * Visit frequency per tier.
 */
visit_every_days: VisitEvery,
};

export type TierReport = {
/**
 * The moment (exclusive end of the window).
 */
as_of: string,
/**
 * First instant of the window.
 */
window_start: string,
/**
 * Customers in rank order.
 */
customers: Array<CustomerRow>,
/**
 * Customers per tier.
 */
counts: TierCounts,
/**
 * The Pareto view.
 */
pareto: ParetoView,
};

export type TierWeights = {
/**
 * Revenue over the window (orders).
 */
revenue: number,
/**
 * Gross profit over the window, where known.
 */
gross_profit: number,
/**
 * Growth potential 1–5 (higher is better).
 */
growth_potential: number,
/**
 * Churn risk 1–5 (lower is better).
 */
churn_risk: number,
/**
 * Payment terms in days (shorter is better).
 */
payment_terms: number,
/**
 * Distinct products bought in the window.
 */
product_breadth: number,
/**
 * Months since the customer was won.
 */
tenure: number,
};

export type Topic = "outcome" | "owner" | "next_step";

export type TopicHeads = {
/**
 * Head of [`Topic::Outcome`].
 */
outcome: EventId | null,
/**
 * Head of [`Topic::Owner`].
 */
owner: EventId | null,
/**
 * Head of [`Topic::NextStep`].
 */
next_step: EventId | null,
};

export type Visit = {
/**
 * The lead visited.
 */
lead: LeadId,
/**
 * Company name.
 */
company: string,
/**
 * `visit` or `meeting`.
 */
kind: NextStepKind,
/**
 * Agreed with the customer.
 */
agreed: boolean,
/**
 * Start.
 */
start: string,
/**
 * Planned duration.
 */
duration_minutes: number,
/**
 * End of the visit.
 */
end: string,
/**
 * Buffer after it.
 */
buffer_minutes: number,
/**
 * End of the buffer: the earliest start of the next visit.
 */
free_at: string,
};

export type VisitEvery = {
/**
 * Tier A.
 */
a: number,
/**
 * Tier B.
 */
b: number,
/**
 * Tier C.
 */
c: number,
};

export type WeekdaySet = Array<"Mon" | "Tue" | "Wed" | "Thu" | "Fri" | "Sat" | "Sun">;

export type WonInput = {
/**
 * Deal amount.
 */
amount: Money,
/**
 * Products sold.
 */
products?: Array<ProductId>,
};

export type WorkingWeek = {
/**
 * The working days.
 */
days: WeekdaySet,
/**
 * Start of the working day, local time.
 */
start: ClockTime,
/**
 * End of the working day, local time.
 */
end: ClockTime,
};
