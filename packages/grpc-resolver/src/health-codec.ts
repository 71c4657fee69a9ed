// grpc.health.v1 messages, encoded by hand: two one-field messages do not justify a protobuf
// runtime dependency.
//   message HealthCheckRequest { string service = 1; }
//   message HealthCheckResponse { ServingStatus status = 1; }  // UNKNOWN 0, SERVING 1, NOT_SERVING 2, SERVICE_UNKNOWN 3

export const checkMethod = '/grpc.health.v1.Health/Check';
export const SERVING = 1;

export function encodeCheckRequest(service: string): Buffer {
  if (service === '') return Buffer.alloc(0);
  const text = Buffer.from(service, 'utf8');
  return Buffer.concat([Buffer.from([0x0a]), encodeVarint(text.length), text]);
}

/** The `status` field (0 when absent); throws on a malformed message. */
export function decodeCheckResponse(bytes: Buffer): number {
  let status = 0;
  let offset = 0;
  const varint = (): number => {
    let value = 0;
    for (let shift = 0; shift < 64; shift += 7) {
      if (offset >= bytes.length) throw new Error('truncated HealthCheckResponse');
      const byte = bytes[offset++]!;
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return value;
    }
    throw new Error('malformed varint in HealthCheckResponse');
  };
  while (offset < bytes.length) {
    const tag = varint();
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    if (wire === 0) {
      const value = varint();
      if (field === 1) status = value;
    } else if (wire === 1) offset += 8;
    else if (wire === 2) {
      const length = varint(); // read before adding: `offset += varint()` would use the old offset
      offset += length;
    }
    else if (wire === 5) offset += 4;
    else throw new Error(`unsupported wire type ${wire} in HealthCheckResponse`);
    if (offset > bytes.length) throw new Error('truncated HealthCheckResponse');
  }
  return status;
}

function encodeVarint(value: number): Buffer {
  const bytes: number[] = [];
  while (value >= 0x80) {
    bytes.push((value & 0x7f) | 0x80);
    value = Math.floor(value / 128);
  }
  bytes.push(value);
  return Buffer.from(bytes);
}
