import { test } from "node:test";
import assert from "node:assert/strict";
import { resolveOrderedAnswers, type OrderedAnswer, type PositionAnswer } from "../../lib/src/pairwise/evaluate/order-bias";
import { EQUAL, LEFT, RIGHT } from "../../lib/src/pairwise/votes/vote-set";

const ask = (first: string, second: string, answer: PositionAnswer): OrderedAnswer => ({ first, second, answer });

test("resolution table: consistent → vote, position-following → equal, partial-equal → equal, single order → vote", () => {
  const cases: [OrderedAnswer[], string, string | undefined][] = [
    [[ask("a", "b", "first"), ask("b", "a", "second")], "consistent", "a"],
    [[ask("a", "b", "second"), ask("b", "a", "first")], "consistent", "b"],
    [[ask("a", "b", "equal"), ask("b", "a", "equal")], "both-equal", "equal"],
    [[ask("a", "b", "first"), ask("b", "a", "first")], "position-following", "equal"],
    [[ask("a", "b", "second"), ask("b", "a", "second")], "position-following", "equal"],
    [[ask("a", "b", "first"), ask("b", "a", "equal")], "partial-equal", "equal"],
    [[ask("a", "b", "second")], "single-order", "b"],
    // repeated requests in one order are reduced to their majority
    [[ask("a", "b", "first"), ask("a", "b", "first"), ask("a", "b", "second"), ask("b", "a", "second")], "consistent", "a"],
  ];
  for (const [answers, resolution, winner] of cases) {
    const r = resolveOrderedAnswers(answers);
    assert.equal(r.pairs.length, 1);
    assert.equal(r.pairs[0].resolution, resolution, JSON.stringify(answers));
    assert.equal(r.pairs[0].winner, winner, JSON.stringify(answers));
  }
  const vote = resolveOrderedAnswers([ask("a", "b", "first"), ask("b", "a", "equal")], { partialEqual: "vote" });
  assert.equal(vote.pairs[0].winner, "a");
  const drop = resolveOrderedAnswers([ask("a", "b", "first")], { singleOrder: "drop" });
  assert.equal(drop.votes.count, 0);
});

test("rates: position-bias rate over pairs asked both ways, first-position rate over decisive answers", () => {
  const answers = [
    ask("a", "b", "first"), ask("b", "a", "first"), // follows first
    ask("c", "d", "first"), ask("d", "c", "second"), // consistent c
    ask("e", "f", "second"), ask("f", "e", "second"), // follows second
    ask("g", "h", "equal"), ask("h", "g", "first"), // partial
    ask("i", "j", "first"), // single order
  ];
  const { summary: s, votes } = resolveOrderedAnswers(answers);
  assert.equal(s.requests, 9);
  assert.deepEqual(s.answers, { first: 5, second: 3, equal: 1 });
  assert.equal(s.pairs, 5);
  assert.equal(s.bothOrders, 4);
  assert.equal(s.positionFollowing, 2);
  assert.equal(s.followsFirst, 1);
  assert.equal(s.followsSecond, 1);
  assert.equal(s.positionBiasRate, 2 / 4);
  assert.equal(s.firstPositionRate, 5 / 8);
  assert.equal(votes.count, 5);
  assert.deepEqual([...votes.outcome], [EQUAL, LEFT, EQUAL, EQUAL, LEFT]);
  assert.deepEqual(votes.images, ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"]);
  const empty = resolveOrderedAnswers([]);
  assert.equal(empty.summary.positionBiasRate, null);
  assert.equal(empty.summary.firstPositionRate, null);
  assert.throws(() => resolveOrderedAnswers([ask("a", "a", "first")]), RangeError);
  assert.ok(RIGHT === 1);
});
