// Regenerates the small synthetic data sets the examples use (deterministic).
// Usage: node examples/data/generate.mjs
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
let state = 12345;
const rand = () => ((state = (state * 1103515245 + 12345) % 2147483648) / 2147483648);
const pick = (xs) => xs[Math.floor(rand() * xs.length)];

const subjects = ['the film', 'this movie', 'the plot', 'the acting', 'the soundtrack', 'the ending', 'the script', 'the cast'];
const good = ['wonderful', 'moving', 'brilliant', 'charming', 'gripping', 'delightful', 'superb'];
const bad = ['dull', 'tedious', 'clumsy', 'forgettable', 'painful', 'lifeless', 'awful'];
const adverbs = ['truly', 'rather', 'utterly', 'quite', 'simply'];

function sentiment(n) {
  const rows = ['sentence\tlabel'];
  for (let i = 0; i < n; i++) {
    const positive = rand() < 0.5;
    rows.push(`${pick(subjects)} is ${pick(adverbs)} ${pick(positive ? good : bad)}\t${positive ? 1 : 0}`);
  }
  return rows.join('\n') + '\n';
}

const facts = [['the cat sat on the mat', 'a cat was sitting on the mat'], ['prices rose sharply', 'costs went up fast'], ['she left early', 'she departed before the others'], ['the team won the cup', 'the cup went to the team'], ['it rained all day', 'the whole day was rainy']];
function paraphrase(n) {
  const rows = ['sentence1\tsentence2\tlabel'];
  for (let i = 0; i < n; i++) {
    const [a, b] = pick(facts);
    const same = rand() < 0.5;
    rows.push(`${a}\t${same ? b : pick(facts.filter((f) => f[0] !== a))[1]}\t${same ? 'paraphrase' : 'different'}`);
  }
  return rows.join('\n') + '\n';
}

writeFileSync(join(here, 'sentiment/train.tsv'), sentiment(400));
writeFileSync(join(here, 'sentiment/dev.tsv'), sentiment(100));
writeFileSync(join(here, 'paraphrase/train.tsv'), paraphrase(300));
writeFileSync(join(here, 'paraphrase/dev.tsv'), paraphrase(80));

// A third small task (after the others, so their files stay as they were): the topic of a sentence.
const topics = {
  sports: { who: ['the team', 'the striker', 'the coach', 'the runner'], did: ['won the match', 'scored twice', 'lost the final', 'broke the record'] },
  money: { who: ['the bank', 'the market', 'the company', 'the investor'], did: ['raised prices', 'lost money', 'paid a dividend', 'cut its costs'] },
  weather: { who: ['the storm', 'the wind', 'the sun', 'the rain'], did: ['hit the coast', 'grew stronger', 'came out at noon', 'fell all night'] },
};
function topic(n) {
  const rows = ['sentence\tlabel'];
  for (let i = 0; i < n; i++) {
    const label = pick(Object.keys(topics));
    rows.push(`${pick(topics[label].who)} ${pick(topics[label].did)}\t${label}`);
  }
  return rows.join('\n') + '\n';
}

mkdirSync(join(here, 'topic'), { recursive: true });
writeFileSync(join(here, 'topic/train.tsv'), topic(300));
writeFileSync(join(here, 'topic/dev.tsv'), topic(90));
