import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

/** The binary format's signature, flags and header-extension length. */
const HEADER = Buffer.concat([Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), Buffer.alloc(8)]);
const TRAILER = -1;

/** One field: an int8, a boolean, raw bytes, text, or NULL, in the table's column order. */
export type CopyField = number | boolean | Buffer | string | null;

/**
 * Rows in COPY's binary format (see PostgreSQL's COPY documentation): a
 * header, then per row a field count and each field as a length (-1 for
 * NULL) and its bytes, then a trailer. Bytes go as they are, with no escaping
 * or hex on either side, which makes COPY the cheapest way to insert many rows.
 */
export class BinaryRows {
  private buffer = Buffer.allocUnsafe(64 * 1024);
  private size = 0;

  constructor() {
    this.write(HEADER.length, (at) => HEADER.copy(this.buffer, at));
  }

  add(fields: CopyField[]): void {
    this.write(2, (at) => this.buffer.writeInt16BE(fields.length, at));
    for (const field of fields) {
      if (field === null) {
        this.write(4, (at) => this.buffer.writeInt32BE(-1, at));
      } else if (typeof field === 'boolean') {
        this.write(5, (at) => {
          this.buffer.writeInt32BE(1, at);
          this.buffer.writeUInt8(field ? 1 : 0, at + 4);
        });
      } else if (typeof field === 'number') {
        this.write(12, (at) => {
          this.buffer.writeInt32BE(8, at);
          this.buffer.writeBigInt64BE(BigInt(field), at + 4);
        });
      } else {
        const length = typeof field === 'string' ? Buffer.byteLength(field) : field.length;
        this.write(4 + length, (at) => {
          this.buffer.writeInt32BE(length, at);
          if (typeof field === 'string') this.buffer.write(field, at + 4);
          else field.copy(this.buffer, at + 4);
        });
      }
    }
  }

  /** Streams the rows into `table (columns)` over `client`, inside its transaction. */
  async copyInto(client: pg.ClientBase, table: string, columns: string[]): Promise<void> {
    this.write(2, (at) => this.buffer.writeInt16BE(TRAILER, at));
    const stream = client.query(copyFrom(`COPY ${table} (${columns.join(', ')}) FROM STDIN (FORMAT binary)`));
    await pipeline(Readable.from([this.buffer.subarray(0, this.size)]), stream);
  }

  private write(length: number, fill: (at: number) => void): void {
    if (this.size + length > this.buffer.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.size + length));
      this.buffer.copy(grown, 0, 0, this.size);
      this.buffer = grown;
    }
    fill(this.size);
    this.size += length;
  }
}
