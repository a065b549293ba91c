// The core's error codes in Hebrew (see problems.ts): the same codes as problems-en.ts, checked
// by the `ProblemTexts` type.

import type { ProblemTexts } from "./problems";

const q = (text: string) => `„${text}”`;

const reassignment: ProblemTexts["reassignment"] = {
  managers: "מנהלים ומנהלי מערכת",
  admins: "מנהלי מערכת",
  owners: "האחראי/ת על הליד, מנהלים ומנהלי מערכת",
};

const ownerProblem: ProblemTexts["ownerProblem"] = {
  not_a_member: "אינו/ה חבר/ה בצוות",
  admin: "מנהלי מערכת מפקחים על הצוות; נציגים ומנהלים אחראים על לידים",
};

export const heProblems: ProblemTexts = {
  reassignment,
  ownerProblem,
  problem: {
    notes_missing: () => "יש לתעד מה נאמר ומה הלקוח צריך: שיחה ללא הערות לא נשמרת",
    ending_missing: () => "שיחה מסתיימת בצעד הבא עם תאריך ושעה, בתאריך החלטה, ב„צריך זמן”, בכן סופי או בלא סופי",
    endings_conflict: (p, n) => `שיחה מסתיימת באפשרות אחת בלבד; כאן נבחרו: ${n.list(p.endings.map(n.ending))}`,
    ending_not_recorded: (p, n) => `השיחה הסתיימה ב${q(n.eventKind(p.kind))}, אבל זה לא נרשם איתה`,
    due_too_early: (p, n) => `מועד הצעד הבא צריך להיות אחרי ${n.dateTime(p.now)}, לא ${n.dateTime(p.due)}`,
    duration_zero: () => "המשך צריך להיות יותר מ-0 דקות",
    decision_date_too_early: (p, n) => `תאריך ההחלטה צריך להיות אחרי ${n.dateTime(p.now)}, לא ${n.dateTime(p.date)}`,
    reason_missing: (p, n) => `יש לבחור סיבה: ${n.list(p.known.map(n.reason))}`,
    unknown_reason: (p, n) => `${q(p.reason)} אינה סיבת סירוב בספר הכללים (${n.list(p.known.map(n.reason))})`,
    refusal_products: () => "יש לציין את המוצרים שהלקוח סירב להם",
    budget_missing: () => "יש לרשום את התקציב של הלקוח",
    negative: () => "הערך לא יכול להיות שלילי",
    not_positive: () => "הסכום צריך להיות גדול מ-0",
    currency_code: (p) => `${q(p.currency)} אינו קוד מטבע כמו „ILS”`,
    profit_currency: (p) => `הרווח הוא ב-${p.profit} וההזמנה ב-${p.order}: יש להשתמש במטבע אחד`,
    order_products: () => "יש לציין את המוצרים שהוזמנו",
    materials_to_request: () => "יש לבחור מה הלקוח ביקש",
    materials_sent: () => "יש לבחור מה נשלח",
    no_pending_review: (p, n) => `${n.lead(p.lead)}: אין סירוב שממתין לבדיקה`,
    cadence_not_used_up: (p, n) =>
      `סגירה כלא זמין דורשת ${n.number(p.needed)} ניסיונות ללא מענה; בליד הזה היו ${n.number(p.has)}`,
    no_materials_request: (p, n) => `${n.lead(p.lead)}: לא התבקשו חומרים`,
    already_owner: (p, n) => `הליד כבר באחריות ${n.member(p.owner)}`,
    unknown_status: (p, n) => `${q(p.status)} אינו סטטוס בספר הכללים (${n.list(p.known.map(n.status))})`,
    override_reason: () => "יש לכתוב למה הסטטוס נקבע ידנית",
    conflict_missing: (p, n) => `יש לבחור את ההתנגשות ליישוב (${n.list(p.open.map(q))})`,
    unknown_conflict: (p, n) => `${q(p.key)} אינה התנגשות פתוחה (${n.lead(p.lead)})`,
    keep_not_in_conflict: (p) => `האירוע ${q(p.keep)} אינו אחד מאירועי ההתנגשות`,
    lead_id_missing: () => "ליד חדש צריך את המזהה שהמכשיר יוצר עבורו",
    company_or_contact: () => "לליד צריכים להיות חברה או איש קשר",
    keep_company_or_contact: () => "אי אפשר להשאיר ליד בלי חברה ובלי איש קשר",
    email: (p) => `${q(p.email)} אינה כתובת דוא״ל כמו „noa@example.com”`,
    deal_negative: () => "גודל העסקה לא יכול להיות שלילי",
    unknown_product: (p, n) => `${q(p.product)} אינו מוצר של הצוות (${n.list(p.known.map(n.product))})`,
    product_twice: (p, n) => `${n.product(p.product)} מופיע פעמיים`,
    one_to_five: (p, n) => `צריך להיות בין 1 ל-5, לא ${n.number(p.value)}`,
    custom_name: () => "לשדה מותאם אישית צריך להיות שם",
    nothing_to_edit: () => "העריכה לא משנה אף שדה",
    owner: (p, n) => n.refusal(p.refusal),
    playbook: (p, n) => n.playbook(p.playbook),
  },
  refusal: {
    not_a_member: (p, n) => `${n.member(p.writer)} אינו/ה חבר/ה בצוות`,
    read_only: (p, n) => `${n.member(p.writer)}: אין הרשאה לשנות את המסמך הזה (קריאה בלבד)`,
    reserved_id: () => "המזהה הזה שמור למסמכים של שרת הסנכרון",
    not_readable: (p) => `לא ניתן לקרוא את מסמך ה${p.kind === "team" ? "צוות" : "ליד"} (${p.reason})`,
    newer_schema: (p, n) =>
      `נכתב בגרסה חדשה יותר של האפליקציה (סכמה ${n.number(p.found)}; גרסה זו מכירה עד ${n.number(p.known)}): יש לעדכן את האפליקציה`,
    unknown_field: (p) => `השדה ${q(p.field)} אינו מוכר לגרסה זו של האפליקציה`,
    field_immutable: (p) => `השדה ${q(p.field)} אינו משתנה לעולם`,
    event_changed: (p) => `אירוע (${p.event}) שונה או נמחק: אירועים לא נערכים לעולם`,
    unknown_event_kind: (p) => `האירוע ${p.event} מסוג שגרסה זו של האפליקציה לא מכירה (${q(p.kind)})`,
    bad_event: (p) => `לא ניתן לקרוא את האירוע ${p.event} (${p.reason})`,
    wrong_author: (p, n) => `אירוע נרשם בשם ${n.member(p.by)}, אבל ${n.member(p.writer)} כתב/ה אותו`,
    kind_not_allowed: (p, n) =>
      `רק מנהלים ומנהלי מערכת יכולים לרשום ${q(n.eventKind(p.kind))}; ${n.member(p.writer)} בתפקיד ${n.role(p.role)}`,
    may_not_reassign: (p, n) =>
      `לפי ספר הכללים רק ${reassignment[p.allowed]} יכולים להעביר ליד לחבר/ת צוות אחר/ת; ${n.member(p.writer)} בתפקיד ${n.role(p.role)}`,
    may_not_own: (p, n) => `${n.member(p.owner)} לא יכול/ה להיות אחראי/ת על לידים: ${ownerProblem[p.why]}`,
    not_theirs: (p, n) =>
      `${n.member(p.creator)} (${n.role(p.role)}) לא יכול/ה ליצור ליד באחריות ${n.member(p.owner)}`,
    too_many_leads: (p, n) =>
      `${n.member(p.owner)} כבר אחראי/ת על ${n.number(p.count)} לידים (המגבלה היא ${n.number(p.limit)})`,
    owner_mismatch: (p, n) =>
      `האחראי/ת ${n.member(p.field)} לא תואם/ת לאירועים, שלפיהם האחראי/ת הוא/היא ${n.member(p.folded)}`,
    owner_without_assignment: () => "האחראי/ת על ליד משתנה רק בהעברה",
    no_created_event: () => "ליד חדש חייב לכלול את אירוע היצירה שלו",
    manager_team_edit: () => "מנהל/ת יכול/ה לשנות את ספר הכללים ואת המוצרים, לא את חברי הצוות או את שם הצוות",
    invalid_playbook: (p) => `ספר הכללים אינו תקין: ${p.field}: ${p.message}`,
    member_owns_leads: (p, n) => `${n.member(p.member)} אחראי/ת על ${n.number(p.count)} לידים: יש להעביר אותם קודם`,
  },
  playbook: {
    no_status_for_role: (p, n) => `אין סטטוס עם התפקיד ${q(n.statusRole(p.role))}`,
    empty_key: () => "לא יכול להיות ריק",
    duplicate_key: (p) => `המפתח ${q(p.key)} מופיע פעמיים`,
    close_reason_unknown: (p) => `${q(p.reason)} אינה אחת מסיבות הסירוב`,
    at_least_one: () => "צריך להיות לפחות 1",
    start_after_end: () => "היום צריך להתחיל לפני שהוא מסתיים",
    currency_code: (p) => `${q(p.currency)} אינו קוד מטבע כמו „ILS”`,
    rate_for_team_currency: (p) => `${p.currency} הוא מטבע הצוות: אין צורך בשער עבורו`,
    rate_twice: (p, n) => `ל-${p.currency} כבר יש שער בתאריך ${n.date(p.date)} (שורה ${n.number(p.other + 1)})`,
    tier_shares: (p, n) => `דרגות A ו-B יחד הן ${n.number(p.total)}%, יותר מ-100%`,
    percent: () => "צריך להיות בין 1 ל-100",
    weights_finite: () => "המשקלות צריכים להיות מספרים לא שליליים",
    weight_positive: () => "לפחות משקל אחד צריך להיות גדול מ-0",
  },
};
