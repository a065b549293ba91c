// The core's error codes in English (see problems.ts). The core's own English message says the
// same for a developer; these are written for the member on the screen.

import type { ProblemTexts } from "./problems";

const q = (text: string) => `“${text}”`;

const reassignment: ProblemTexts["reassignment"] = {
  managers: "managers and admins",
  admins: "admins",
  owners: "the lead's owner, managers and admins",
};

const ownerProblem: ProblemTexts["ownerProblem"] = {
  not_a_member: "not a member of the team",
  admin: "admins oversee the team; reps and managers own leads",
};

export const enProblems: ProblemTexts = {
  reassignment,
  ownerProblem,
  problem: {
    notes_missing: () => "Write down what was said and the customer's needs: a conversation without notes is not saved",
    ending_missing: () =>
      "A conversation ends with a next step with a due date and time, a decision date, “needs time”, a final yes or a final no",
    endings_conflict: (p, n) =>
      `A conversation ends with exactly one of these; this one has ${n.list(p.endings.map(n.ending))}`,
    ending_not_recorded: (p, n) =>
      `The conversation ended with ${q(n.eventKind(p.kind))}, but that was not recorded with it`,
    due_too_early: (p, n) => `The next step must be due after ${n.dateTime(p.now)}, not at ${n.dateTime(p.due)}`,
    duration_zero: () => "The duration must be more than 0 minutes",
    decision_date_too_early: (p, n) =>
      `The decision date must be after ${n.dateTime(p.now)}, not ${n.dateTime(p.date)}`,
    reason_missing: (p, n) => `Choose a reason: ${n.list(p.known.map(n.reason))}`,
    unknown_reason: (p, n) =>
      `${q(p.reason)} is not a refusal reason of the playbook (${n.list(p.known.map(n.reason))})`,
    refusal_products: () => "Name the products the customer refused",
    budget_missing: () => "Record the customer's budget",
    negative: () => "Must not be negative",
    not_positive: () => "The amount must be more than 0",
    currency_code: (p) => `${q(p.currency)} is not a currency code like “ILS”`,
    profit_currency: (p) => `The profit is in ${p.profit} and the order in ${p.order}: use one currency`,
    order_products: () => "Name the products ordered",
    materials_to_request: () => "Choose what the customer asked for",
    materials_sent: () => "Choose what was sent",
    no_pending_review: (p, n) => `${n.lead(p.lead)}: no refusal is waiting for review`,
    cadence_not_used_up: (p, n) =>
      `Closing as unreachable needs ${n.number(p.needed)} unsuccessful attempts; this lead has ${n.number(p.has)}`,
    no_materials_request: (p, n) => `${n.lead(p.lead)}: no materials were asked for`,
    already_owner: (p, n) => `The lead already belongs to ${n.member(p.owner)}`,
    unknown_status: (p, n) =>
      `${q(p.status)} is not a status of the playbook (${n.list(p.known.map(n.status))})`,
    override_reason: () => "Say why the status is set by hand",
    conflict_missing: (p, n) => `Choose the conflict to settle (${n.list(p.open.map(q))})`,
    unknown_conflict: (p, n) => `${q(p.key)} is not an open conflict of ${n.lead(p.lead)}`,
    keep_not_in_conflict: (p) => `The event ${q(p.keep)} is not one of the conflict's events`,
    lead_id_missing: () => "A new lead needs the id this device draws for it",
    company_or_contact: () => "A lead needs a company or a contact person",
    keep_company_or_contact: () => "A lead keeps a company or a contact person",
    email: (p) => `${q(p.email)} is not an email address like “noa@example.com”`,
    deal_negative: () => "The deal size must not be negative",
    unknown_product: (p, n) => `${q(p.product)} is not a product of the team (${n.list(p.known.map(n.product))})`,
    product_twice: (p, n) => `${n.product(p.product)} is listed twice`,
    one_to_five: (p, n) => `Must be 1 to 5, not ${n.number(p.value)}`,
    custom_name: () => "A custom field needs a name",
    nothing_to_edit: () => "The edit changes nothing",
    owner: (p, n) => n.refusal(p.refusal),
    playbook: (p, n) => n.playbook(p.playbook),
  },
  refusal: {
    not_a_member: (p, n) => `${n.member(p.writer)} is not a member of the team`,
    read_only: (p, n) => `${n.member(p.writer)} may not change this document (read-only)`,
    reserved_id: () => "This id is reserved for the relay's own documents",
    not_readable: (p) => `This ${p.kind === "team" ? "team" : "lead"} document cannot be read (${p.reason})`,
    newer_schema: (p, n) =>
      `Written by a newer app version (schema ${n.number(p.found)}; this one knows up to ${n.number(p.known)}): update the app`,
    unknown_field: (p) => `The field ${q(p.field)} is unknown to this app version`,
    field_immutable: (p) => `The field ${q(p.field)} never changes`,
    event_changed: (p) => `An event (${p.event}) was changed or removed: events are never edited`,
    unknown_event_kind: (p) => `The event ${p.event} is of a kind this app version does not know (${q(p.kind)})`,
    bad_event: (p) => `The event ${p.event} cannot be read (${p.reason})`,
    wrong_author: (p, n) => `An event was recorded in the name of ${n.member(p.by)}, but ${n.member(p.writer)} wrote it`,
    kind_not_allowed: (p, n) =>
      `Only managers and admins may record ${q(n.eventKind(p.kind))}; ${n.member(p.writer)} is a ${n.role(p.role)}`,
    may_not_reassign: (p, n) =>
      `The playbook lets ${reassignment[p.allowed]} hand a lead to another member; ${n.member(p.writer)} is a ${n.role(p.role)}`,
    may_not_own: (p, n) => `${n.member(p.owner)} may not own leads: ${ownerProblem[p.why]}`,
    not_theirs: (p, n) =>
      `${n.member(p.creator)} (${n.role(p.role)}) may not create a lead owned by ${n.member(p.owner)}`,
    too_many_leads: (p, n) =>
      `${n.member(p.owner)} already owns ${n.number(p.count)} leads (limit ${n.number(p.limit)})`,
    owner_mismatch: (p, n) =>
      `The owner ${n.member(p.field)} does not follow the events, which give ${n.member(p.folded)}`,
    owner_without_assignment: () => "A lead's owner changes only by an assignment",
    no_created_event: () => "A new lead must carry its “created” event",
    manager_team_edit: () => "A manager may change the playbook and the products, not the members or the team's name",
    invalid_playbook: (p) => `The playbook is not valid: ${p.field}: ${p.message}`,
    member_owns_leads: (p, n) => `${n.member(p.member)} owns ${n.number(p.count)} leads: reassign them first`,
  },
  playbook: {
    no_status_for_role: (p, n) => `No status has the role ${q(n.statusRole(p.role))}`,
    empty_key: () => "Must not be empty",
    duplicate_key: (p) => `The key ${q(p.key)} is used twice`,
    close_reason_unknown: (p) => `${q(p.reason)} is not one of the refusal reasons`,
    at_least_one: () => "Must be at least 1",
    start_after_end: () => "The day must start before it ends",
    currency_code: (p) => `${q(p.currency)} is not a currency code like “ILS”`,
    rate_for_team_currency: (p) => `${p.currency} is the team currency: it needs no rate`,
    rate_twice: (p, n) => `${p.currency} already has a rate on ${n.date(p.date)} (row ${n.number(p.other + 1)})`,
    tier_shares: (p, n) => `Tiers A and B together take ${n.number(p.total)}%, more than 100%`,
    percent: () => "Must be between 1 and 100",
    weights_finite: () => "Weights must be numbers, not negative",
    weight_positive: () => "At least one weight must be more than 0",
  },
};
