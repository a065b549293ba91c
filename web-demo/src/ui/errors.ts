// The core's refusals reach the screens as `FieldbookError` (kind, field, message). The screens
// show the message next to the input the field path names; they never judge input themselves.

export interface ShownError {
  kind: string;
  /** Input field path, e.g. `notes`, `next_step`, `final_no.budget`. */
  field?: string;
  message: string;
}

/** A FieldbookError (by shape, so the screens need not load the module) or any other error. */
export function toShownError(e: unknown): ShownError {
  if (e && typeof e === "object") {
    const o = e as { kind?: unknown; field?: unknown; message?: unknown };
    if (typeof o.kind === "string") {
      return {
        kind: o.kind,
        field: typeof o.field === "string" && o.field ? o.field : undefined,
        message: typeof o.message === "string" ? o.message : String(e),
      };
    }
    if (e instanceof Error) return { kind: "error", message: e.message };
  }
  return { kind: "error", message: String(e) };
}

/** Whether `err` belongs to the input `name` (exactly, or a part of it such as `name.due`). */
export function errorAt(err: ShownError | undefined, name: string): ShownError | undefined {
  if (!err?.field) return undefined;
  return err.field === name || err.field.startsWith(`${name}.`) ? err : undefined;
}

/** The error when no input of `names` shows it (shown at the top of the form then). */
export function unplaced(err: ShownError | undefined, names: string[]): ShownError | undefined {
  if (!err) return undefined;
  if (err.field && names.some((n) => errorAt(err, n))) return undefined;
  return err;
}
