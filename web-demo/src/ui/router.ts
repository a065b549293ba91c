// Hash routes (the relay serves one index.html; `#token=` is the sign-in link).

import { useEffect, useState } from "preact/hooks";

export type Route =
  | { name: "queue" }
  | { name: "lead"; id: string }
  | { name: "new" }
  | { name: "plan" }
  | { name: "inbox" }
  | { name: "analytics" }
  | { name: "settings" };

export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#\/?/, "");
  const [head, ...rest] = path.split("/");
  switch (head) {
    case "lead":
      return rest[0] ? { name: "lead", id: decodeURIComponent(rest[0]) } : { name: "queue" };
    case "new":
    case "plan":
    case "inbox":
    case "analytics":
    case "settings":
      return { name: head };
    default:
      return { name: "queue" };
  }
}

export function href(route: Route): string {
  return route.name === "lead" ? `#/lead/${encodeURIComponent(route.id)}` : `#/${route.name}`;
}

export function navigate(route: Route): void {
  location.hash = href(route);
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const on = () => setRoute(parseRoute(location.hash));
    addEventListener("hashchange", on);
    return () => removeEventListener("hashchange", on);
  }, []);
  return route;
}
