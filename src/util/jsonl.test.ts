import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import {
  type JsonlLine,
  type JsonlOptions,
  parseJsonl,
  readJsonl,
  readJsonlSync,
  readJsonlValues,
} from "./jsonl.js";

const dir = mkdtempSync(join(tmpdir(), "interplay-jsonl-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Writes `text` to a file of the test folder; returns its path. */
function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

async function readAll(path: string, opts?: JsonlOptions): Promise<JsonlLine[]> {
  const out: JsonlLine[] = [];
  for await (const l of readJsonl(path, opts)) out.push(l);
  return out;
}

/** Both readers, which must agree. */
async function both(path: string, opts?: JsonlOptions): Promise<JsonlLine[]> {
  const sync = readJsonlSync(path, opts);
  assert.deepEqual(await readAll(path, opts), sync, "readJsonl and readJsonlSync agree");
  return sync;
}

const values = (ls: JsonlLine[]) => ls.map((l) => [l.line, l.value]);

describe("JSONL readers", () => {
  // Line 1 has a byte-order mark, 2 is blank, 3 is whitespace, 4 ends in CRLF, 5 is not JSON,
  // 6 is fine, 7 is cut by a kill.
  const messy = file("messy.jsonl", '\uFEFF{"a":1}\n\n  \n{"a":2}\r\nnope\n{"a":3}\n{"a":');

  test("blank lines are skipped but counted; BOM and CRLF are dropped; text is the line as written", async () => {
    const ls = await both(messy, { bad: "skip" });
    assert.deepEqual(values(ls), [
      [1, { a: 1 }],
      [4, { a: 2 }],
      [6, { a: 3 }],
    ]);
    assert.deepEqual(
      ls.map((l) => l.text),
      ['{"a":1}', '{"a":2}', '{"a":3}'],
    );
  });

  test('"report" (default): a bad line is an entry with its line number and why', async () => {
    const ls = await both(messy);
    assert.deepEqual(
      ls.map((l) => l.line),
      [1, 4, 5, 6, 7],
    );
    assert.match(ls[2].error ?? "", /^not valid JSON \(/);
    assert.equal(ls[2].value, undefined);
    assert.equal(ls[2].text, "nope");
    assert.match(ls[4].error ?? "", /^not valid JSON/);
  });

  test('"throw": the first bad line is an error naming file and line', async () => {
    assert.throws(() => readJsonlSync(messy, { bad: "throw" }), /messy\.jsonl:5: not valid JSON \(/);
    await assert.rejects(readAll(messy, { bad: "throw" }), /messy\.jsonl:5: not valid JSON \(/);
    assert.throws(() => parseJsonl('{}\n{"x"', { bad: "throw", name: "in.jsonl" }), /^Error: in\.jsonl:2: /);
  });

  test('"stop": a torn last line ends the read; so does any bad line (nothing after it is read)', async () => {
    const torn = file("torn.jsonl", '{"a":1}\n{"a":2}\n{"a":');
    assert.deepEqual(values(await both(torn, { bad: "stop" })), [
      [1, { a: 1 }],
      [2, { a: 2 }],
    ]);
    assert.deepEqual(values(await both(messy, { bad: "stop" })), [
      [1, { a: 1 }],
      [4, { a: 2 }],
    ]);
  });

  test('"skip": every bad line is dropped, the lines after it are kept', async () => {
    assert.deepEqual(
      (await both(messy, { bad: "skip" })).map((l) => l.line),
      [1, 4, 6],
    );
  });

  test("readJsonlValues: the values, strict by default", () => {
    assert.throws(() => readJsonlValues(messy), /messy\.jsonl:5: not valid JSON/);
    assert.deepEqual(readJsonlValues(messy, { bad: "stop" }), [{ a: 1 }, { a: 2 }]);
    assert.deepEqual(readJsonlValues(file("ok.jsonl", '{"a":1}\n[2]\n3\n')), [{ a: 1 }, [2], 3]);
  });

  test("empty and blank files hold no lines; a missing file and an unknown policy are errors", async () => {
    assert.deepEqual(await both(file("empty.jsonl", "")), []);
    assert.deepEqual(await both(file("blank.jsonl", "\n \n\r\n")), []);
    assert.throws(() => readJsonlSync(join(dir, "missing.jsonl")), /ENOENT/);
    await assert.rejects(readAll(join(dir, "missing.jsonl")), /ENOENT/);
    assert.throws(() => parseJsonl("{}", { bad: "ignore" as "skip" }), /bad must be/);
  });

  test("a caller may stop reading early", async () => {
    const big = file("big.jsonl", Array.from({ length: 5000 }, (_, i) => JSON.stringify({ i })).join("\n"));
    let k = 0;
    for await (const l of readJsonl(big)) {
      assert.deepEqual(l.value, { i: k });
      if (++k === 3) break;
    }
    assert.equal(k, 3);
  });
});
