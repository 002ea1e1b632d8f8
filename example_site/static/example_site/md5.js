// Incremental MD5 for the browser uploader: the server's default checksum, which Web Crypto
// does not offer. The file is hashed a slice at a time, so memory stays flat for any size.
//
//   const md5 = new ChunkedGraphQLMD5(); md5.update(uint8array); …; md5.hexdigest()
(function (global) {
  "use strict";

  const SHIFTS = [
    7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
    5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20,
    4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
    6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
  ];
  const CONSTANTS = Array.from({ length: 64 }, (_, i) =>
    Math.floor(Math.abs(Math.sin(i + 1)) * 2 ** 32) >>> 0,
  );

  class MD5 {
    constructor() {
      this.state = new Uint32Array([0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476]);
      this.buffer = new Uint8Array(64);
      this.buffered = 0;
      this.length = 0;
      this.words = new Uint32Array(16);
    }

    update(bytes) {
      this.length += bytes.length;
      let at = 0;
      if (this.buffered) {
        const take = Math.min(64 - this.buffered, bytes.length);
        this.buffer.set(bytes.subarray(0, take), this.buffered);
        this.buffered += take;
        at = take;
        if (this.buffered < 64) return this;
        this.block(this.buffer, 0);
        this.buffered = 0;
      }
      for (; at + 64 <= bytes.length; at += 64) this.block(bytes, at);
      this.buffer.set(bytes.subarray(at), 0);
      this.buffered = bytes.length - at;
      return this;
    }

    block(bytes, at) {
      const m = this.words;
      for (let j = 0; j < 16; j++) {
        const p = at + 4 * j;
        m[j] = bytes[p] | (bytes[p + 1] << 8) | (bytes[p + 2] << 16) | (bytes[p + 3] << 24);
      }
      let [a, b, c, d] = this.state;
      for (let j = 0; j < 64; j++) {
        let f;
        let g;
        if (j < 16) {
          f = (b & c) | (~b & d);
          g = j;
        } else if (j < 32) {
          f = (d & b) | (~d & c);
          g = (5 * j + 1) % 16;
        } else if (j < 48) {
          f = b ^ c ^ d;
          g = (3 * j + 5) % 16;
        } else {
          f = c ^ (b | ~d);
          g = (7 * j) % 16;
        }
        const sum = (a + f + CONSTANTS[j] + m[g]) >>> 0;
        const rotated = ((sum << SHIFTS[j]) | (sum >>> (32 - SHIFTS[j]))) >>> 0;
        a = d;
        d = c;
        c = b;
        b = (b + rotated) >>> 0;
      }
      this.state[0] += a;
      this.state[1] += b;
      this.state[2] += c;
      this.state[3] += d;
    }

    hexdigest() {
      const bits = this.length * 8;
      const padding = new Uint8Array((this.buffered < 56 ? 56 : 120) - this.buffered + 8);
      padding[0] = 0x80;
      const view = new DataView(padding.buffer);
      view.setUint32(padding.length - 8, bits % 2 ** 32, true);
      view.setUint32(padding.length - 4, Math.floor(bits / 2 ** 32), true);
      this.update(padding);
      const out = new DataView(new ArrayBuffer(16));
      this.state.forEach((word, i) => out.setUint32(4 * i, word, true));
      return Array.from(new Uint8Array(out.buffer), (x) => x.toString(16).padStart(2, "0")).join("");
    }
  }

  global.ChunkedGraphQLMD5 = MD5;
})(typeof window === "undefined" ? globalThis : window);
