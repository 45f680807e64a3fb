// The UI talks to the server through its public HTTP API only. Paths are
// relative ("api/v1/..."), so the UI also works behind a proxy that
// serves it under a prefix.

/** An answer of the API with status "error", or a non-JSON failure. */
export class APIError extends Error {
  constructor(
    readonly httpStatus: number,
    readonly errorType: string,
    message: string,
  ) {
    super(message);
  }

  /** The error as the API gives it: "<errorType>: <error>". */
  toString(): string {
    return this.errorType ? `${this.errorType}: ${this.message}` : this.message;
  }
}

/** A successful answer: its data and the annotations that came with it. */
export interface Answer<T> {
  data: T;
  warnings: string[];
  infos: string[];
}

type Params = Record<string, string | string[] | undefined>;

function encode(params: Params): URLSearchParams {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined) continue;
    for (const one of Array.isArray(v) ? v : [v]) q.append(k, one);
  }
  return q;
}

/**
 * get calls GET path?params and returns the answer's data; it throws
 * APIError with the API's errorType and error on failure.
 */
export function get<T>(path: string, params: Params = {}, signal?: AbortSignal): Promise<Answer<T>> {
  const q = encode(params).toString();
  return call<T>(q ? `${path}?${q}` : path, { signal });
}

/** post calls POST path with params as a form body (long queries fit). */
export function post<T>(path: string, params: Params, signal?: AbortSignal): Promise<Answer<T>> {
  return call<T>(path, {
    method: "POST",
    body: encode(params),
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    signal,
  });
}

async function call<T>(path: string, init: RequestInit): Promise<Answer<T>> {
  const res = await fetch(path, { ...init, credentials: "same-origin" });
  const text = await res.text();
  let body: any;
  try {
    body = JSON.parse(text);
  } catch {
    throw new APIError(res.status, "", `${res.status} ${res.statusText}: ${text.trim()}`);
  }
  if (body.status !== "success") {
    throw new APIError(res.status, body.errorType ?? "", body.error ?? `${res.status} ${res.statusText}`);
  }
  return { data: body.data as T, warnings: body.warnings ?? [], infos: body.infos ?? [] };
}

/** getIfPresent is get, answering null when the endpoint does not answer 200. */
export async function getIfPresent<T>(path: string): Promise<Answer<T> | null> {
  try {
    return await get<T>(path);
  } catch {
    return null;
  }
}

/** Labels of a series, __name__ included. */
export type Metric = Record<string, string>;

/** formatMetric renders a series as PromQL does: name{a="1", b="2"}. */
export function formatMetric(m: Metric): string {
  const name = m.__name__ ?? "";
  const pairs = Object.keys(m)
    .filter((k) => k !== "__name__")
    .sort()
    .map((k) => `${k}=${JSON.stringify(m[k])}`);
  if (pairs.length === 0) return name || "{}";
  return `${name}{${pairs.join(", ")}}`;
}
