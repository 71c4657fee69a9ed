// The `Status` object the API server answers with on failure (and sends in a watch ERROR event).

export interface KubeStatus {
  readonly kind: 'Status';
  readonly apiVersion: 'v1';
  readonly metadata: Record<string, never>;
  readonly status: 'Failure';
  readonly message: string;
  readonly reason: string;
  readonly code: number;
}

/** Thrown inside the double; the router turns it into an HTTP answer or a watch ERROR event. */
export class StatusError extends Error {
  readonly code: number;
  readonly reason: string;
  constructor(code: number, reason: string, message: string) {
    super(message);
    this.code = code;
    this.reason = reason;
  }

  toStatus(): KubeStatus {
    return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: this.message, reason: this.reason, code: this.code };
  }
}

export const gone = (message: string) => new StatusError(410, 'Expired', message);
