import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Tokenizer } from "@huggingface/tokenizers";
import { CONTEXT_IDS } from "../world/contexts.js";
import { generateProblem, modelText } from "../world/problem.js";
import { MODES } from "../world/types.js";
import { WorldTokenizer } from "./tokenizer.js";

function* texts(perCell: number): Generator<string> {
  let index = 0;
  for (let op = 2; op <= 20; op++)
    for (const context of CONTEXT_IDS)
      for (const mode of MODES)
        for (let k = 0; k < perCell; k++) {
          const p = generateProblem({ seed: 21, index: index++, op, context, mode });
          yield modelText(p);
          yield p.solution;
        }
}

describe("world tokenizer", () => {
  for (const digits of [false, true]) {
    it(`round-trips every generated text exactly (${digits ? "digit" : "number"} tokens), also through the HF library`, () => {
      const tok = new WorldTokenizer({ digits });
      const hf = new Tokenizer(tok.toHuggingFace() as never, tok.toHuggingFaceConfig() as never);
      let n = 0;
      for (const t of texts(digits ? 3 : 12)) {
        const ids = tok.encode(t);
        assert.equal(tok.decode(ids), t);
        if (n % 7 === 0) {
          const enc = hf.encode(t, { add_special_tokens: false } as never) as unknown as { ids: number[] };
          assert.deepEqual(enc.ids, ids, "the HF library reads the exported tokenizer.json identically");
          assert.equal(hf.decode(ids, { skip_special_tokens: false } as never), t);
        }
        n++;
      }
      assert.ok(n >= 600, `${n} texts`);
    });
  }

  it("has a compact vocabulary with one token per integer 0–1000", () => {
    const tok = new WorldTokenizer();
    assert.ok(tok.vocabSize > 2000 && tok.vocabSize < 3000, `${tok.vocabSize}`);
    assert.equal(tok.encode(" 1000").length, 1);
    assert.equal(tok.encode("<question> The").length, 2);
    const digits = new WorldTokenizer({ digits: true });
    assert.ok(digits.vocabSize < 600, `${digits.vocabSize}`);
    assert.deepEqual(digits.decode(digits.encode(" 1234")), " 1234");
  });

  it("names words outside the vocabulary", () => {
    const tok = new WorldTokenizer();
    assert.throws(() => tok.encode("The number of adult unicorn"), /"unicorn" is not in the vocabulary/);
    assert.throws(() => tok.encode(" 1234"), /"1234" is not in the vocabulary \(integers above 1000/);
    assert.throws(() => tok.encode("a  b"), /cannot tokenize at character/);
    assert.throws(() => tok.decode([999999]), /outside the vocabulary/);
  });

  it("reloads from its tokenizer.json", () => {
    const tok = new WorldTokenizer();
    const back = WorldTokenizer.fromHuggingFace(JSON.parse(JSON.stringify(tok.toHuggingFace())));
    assert.deepEqual(back.vocab, tok.vocab);
    assert.throws(() => WorldTokenizer.fromHuggingFace({ model: { type: "BPE" } }), /not a WordLevel/);
  });
});
