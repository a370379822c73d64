/**
 * A minimal protobuf wire reader and writer for the few etcd messages every health check sends
 * (Status, MemberList, Alarm, Range): read-only commands then never load protobufjs and the
 * generated codecs (~40 ms of a cold start). 64-bit fields are read as BigInt, so member ids stay
 * exact. Checked field by field against the generated codecs in test/unit/chainfire-wire.test.ts.
 */

export type Field = {no: number; varint: bigint; bytes?: undefined} | {no: number; bytes: Buffer; varint?: undefined}

/** The fields of one message in wire order (repeated fields appear once per element). */
export function readFields(buf: Buffer): Field[] {
  const out: Field[] = []
  let pos = 0
  const varint = (): bigint => {
    let result = 0n
    let shift = 0n
    for (;;) {
      if (pos >= buf.length) throw new Error('truncated protobuf varint')
      const b = buf[pos++]
      result |= BigInt(b & 0x7f) << shift
      if (b < 0x80) return result
      shift += 7n
    }
  }
  while (pos < buf.length) {
    const tag = Number(varint())
    const no = tag >>> 3
    const wire = tag & 7
    if (wire === 0) out.push({no, varint: varint()})
    else if (wire === 2) {
      const len = Number(varint())
      if (pos + len > buf.length) throw new Error('truncated protobuf field')
      out.push({no, bytes: buf.subarray(pos, pos + len)})
      pos += len
    } else if (wire === 1) pos += 8
    else if (wire === 5) pos += 4
    else throw new Error(`unsupported protobuf wire type ${wire}`)
  }
  return out
}

/** Accessors over readFields(): the last value wins for scalars, as protobuf decoders do. */
export class Message {
  private readonly fields: Field[]

  constructor(buf: Buffer) {
    this.fields = readFields(buf)
  }

  private last(no: number): Field | undefined {
    for (let i = this.fields.length - 1; i >= 0; i--) if (this.fields[i].no === no) return this.fields[i]
    return undefined
  }

  /** uint64 as lower-case hex without leading zeros ("0" when absent), as etcdctl prints ids. */
  hex(no: number): string {
    return (this.last(no)?.varint ?? 0n).toString(16)
  }

  /** int64/uint64/enum as a number (counters and revisions fit in 53 bits). */
  num(no: number): number {
    return Number(BigInt.asIntN(64, this.last(no)?.varint ?? 0n))
  }

  bool(no: number): boolean {
    return (this.last(no)?.varint ?? 0n) !== 0n
  }

  bytes(no: number): Buffer {
    return this.last(no)?.bytes ?? Buffer.alloc(0)
  }

  str(no: number): string {
    return this.bytes(no).toString('utf8')
  }

  message(no: number): Message {
    return new Message(this.bytes(no))
  }

  repeatedBytes(no: number): Buffer[] {
    return this.fields.filter((f) => f.no === no && f.bytes).map((f) => f.bytes!)
  }
}

/** Builds a message field by field; zero values are skipped, as proto3 encoders do. */
export class Writer {
  private readonly parts: Buffer[] = []

  private varintBytes(v: bigint): Buffer {
    const out: number[] = []
    let x = BigInt.asUintN(64, v)
    while (x >= 0x80n) {
      out.push(Number(x & 0x7fn) | 0x80)
      x >>= 7n
    }
    out.push(Number(x))
    return Buffer.from(out)
  }

  uint(no: number, v: number | bigint | undefined): this {
    if (v === undefined || BigInt(v) === 0n) return this
    this.parts.push(this.varintBytes(BigInt(no << 3)), this.varintBytes(BigInt(v)))
    return this
  }

  bool(no: number, v: boolean | undefined): this {
    return this.uint(no, v ? 1 : 0)
  }

  bytes(no: number, v: Uint8Array | string | undefined): this {
    if (v === undefined || v.length === 0) return this
    const b = typeof v === 'string' ? Buffer.from(v) : Buffer.from(v.buffer, v.byteOffset, v.byteLength)
    this.parts.push(this.varintBytes(BigInt((no << 3) | 2)), this.varintBytes(BigInt(b.length)), b)
    return this
  }

  finish(): Buffer {
    return Buffer.concat(this.parts)
  }
}
