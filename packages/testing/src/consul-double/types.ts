// The JSON shapes of Consul's HTTP API that the double speaks (field names as Consul spells them).

export type CheckStatus = 'passing' | 'warning' | 'critical';

/** One check as `/v1/health/service` and `/v1/agent/checks` return it. */
export interface ConsulCheck {
  Node: string;
  CheckID: string;
  Name: string;
  Status: CheckStatus;
  Notes: string;
  Output: string;
  ServiceID: string;
  ServiceName: string;
  ServiceTags: string[];
  Type: string;
  Interval: string;
  Timeout: string;
  Namespace?: string;
  CreateIndex: number;
  ModifyIndex: number;
}

export interface ConsulNode {
  ID: string;
  Node: string;
  Address: string;
  Datacenter: string;
  TaggedAddresses: Record<string, string>;
  Meta: Record<string, string>;
  CreateIndex: number;
  ModifyIndex: number;
}

export interface ConsulService {
  ID: string;
  Service: string;
  Tags: string[];
  Address: string;
  Meta: Record<string, string>;
  Port: number;
  Weights: { Passing: number; Warning: number };
  EnableTagOverride: boolean;
  Namespace?: string;
  CreateIndex: number;
  ModifyIndex: number;
}

/** One row of `GET /v1/health/service/:name`. */
export interface ServiceEntry {
  Node: ConsulNode;
  Service: ConsulService;
  Checks: ConsulCheck[];
}

/** A check as registered: what the double needs to run it. */
export interface CheckDefinition {
  CheckID: string;
  Name: string;
  Notes: string;
  ServiceID: string;
  Status: CheckStatus;
  HTTP?: string;
  Method?: string;
  Header?: Record<string, string[]>;
  TLSSkipVerify?: boolean;
  TCP?: string;
  GRPC?: string;
  GRPCUseTLS?: boolean;
  TTL?: string;
  Interval?: string;
  Timeout?: string;
  DeregisterCriticalServiceAfter?: string;
  SuccessBeforePassing: number;
  FailuresBeforeCritical: number;
}
