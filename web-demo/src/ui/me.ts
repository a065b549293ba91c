// Who is signed in, with their member record from the team document (name, locale, zone).

import { createContext } from "preact";
import { useContext } from "preact/hooks";
import type { Session } from "../engine/api";
import type { Team } from "./types";

export type Member = Team["members"][number];

export interface Me {
  session: Session;
  team: Team | undefined;
  member: Member | undefined;
  /**
   * Managers and admins: picks screens (the inbox tab) and the playbook's editing. What a member
   * may do on a lead is never decided from it: the lead card reads `LeadView.actions`.
   */
  isManager: boolean;
}

export const MeContext = createContext<Me | null>(null);

export function useMe(): Me {
  const me = useContext(MeContext);
  if (!me) throw new Error("useMe outside <MeContext.Provider>");
  return me;
}

export function makeMe(session: Session, team: Team | undefined): Me {
  const member = team?.members.find((m) => m.id === session.member);
  const role = member?.role ?? session.role;
  return { session, team, member, isManager: role === "manager" || role === "admin" };
}
