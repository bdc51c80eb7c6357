// The official openai npm client against the running service: streaming chat, whole chat, completions (text and
// token ids), a function-call round trip, the model list and an error. Usage: node openai-client.mjs BASE_URL [API_KEY]
// (BASE_URL ends with /v1). Prints one "ok <check>" line per check; exits non-zero on the first failure.
import assert from 'node:assert/strict';
import OpenAI from 'openai';

const [baseURL, apiKey = 'none'] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: 60_000 });
const ok = name => console.log('ok ' + name);

const models = await client.models.list();
const model = models.data[0].id;
assert.equal(models.data.length, 1);
ok('models.list: ' + model);

const messages = [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Say hello' }];

const whole = await client.chat.completions.create({ model, messages, temperature: 0, max_tokens: 10 });
assert.equal(whole.object, 'chat.completion');
assert.equal(whole.choices[0].message.role, 'assistant');
assert.ok(['stop', 'length'].includes(whole.choices[0].finish_reason));
assert.equal(whole.usage.total_tokens, whole.usage.prompt_tokens + whole.usage.completion_tokens);
ok('chat.completions.create');

const stream = await client.chat.completions.create({ model, messages, temperature: 0, max_tokens: 10, stream: true,
  stream_options: { include_usage: true } });
let text = '', finish = null, usage = null, chunks = 0;
for await (const chunk of stream) {
  chunks++;
  if (chunk.usage) usage = chunk.usage;
  const c = chunk.choices[0];
  if (c) {
    text += c.delta.content ?? '';
    finish = c.finish_reason ?? finish;
  }
}
assert.equal(text, whole.choices[0].message.content, 'a stream says what the whole answer says');
assert.equal(finish, whole.choices[0].finish_reason);
assert.equal(usage.completion_tokens, whole.usage.completion_tokens);
assert.ok(chunks >= 3);
ok('chat.completions.create stream (' + chunks + ' chunks)');

// the helper that accumulates a stream into a message
const runner = client.chat.completions.stream({ model, messages, temperature: 0, max_tokens: 10 });
const final = await runner.finalChatCompletion();
assert.equal(final.choices[0].message.content, whole.choices[0].message.content);
ok('chat.completions.stream finalChatCompletion');

const completion = await client.completions.create({ model, prompt: 'The capital of France is', max_tokens: 5, temperature: 0 });
assert.equal(completion.object, 'text_completion');
assert.equal(typeof completion.choices[0].text, 'string');
const ids = await client.completions.create({ model, prompt: [1, 2, 3, 4], max_tokens: 5, temperature: 0,
  repetition_penalty: 1.1, stream: true, stream_options: { include_usage: true } });
let idsText = '', idsUsage = null;
for await (const chunk of ids) {
  if (chunk.usage) idsUsage = chunk.usage;
  if (chunk.choices[0]) idsText += chunk.choices[0].text;
}
assert.equal(idsUsage.prompt_tokens, 4);
ok('completions.create (text, and token ids streamed)');

// a function-call round trip: the question with tools, then the call and its result
const tools = [{ type: 'function', function: { name: 'get_weather', description: 'The current weather in a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } }];
const first = await client.chat.completions.create({ model, temperature: 0, max_tokens: 16, tools,
  messages: [{ role: 'user', content: 'What is the weather in Paris?' }] });
const reason = first.choices[0].finish_reason;
assert.ok(['stop', 'length', 'tool_calls'].includes(reason), reason);
assert.ok(first.usage.prompt_tokens > whole.usage.prompt_tokens + 100, 'the ReAct instruction is in the prompt');
const call = first.choices[0].message.tool_calls?.[0]
  ?? { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city": "Paris"}' } };
const second = await client.chat.completions.create({ model, temperature: 0, max_tokens: 16, tools, messages: [
  { role: 'user', content: 'What is the weather in Paris?' },
  { role: 'assistant', content: null, tool_calls: [call] },
  { role: 'tool', tool_call_id: call.id, content: '{"temperature": 22, "sky": "sunny"}' }] });
assert.equal(second.object, 'chat.completion');
const streamedCall = await client.chat.completions.create({ model, temperature: 0, max_tokens: 16, tools, stream: true,
  messages: [{ role: 'user', content: 'What is the weather in Paris?' }] });
let streamedReason = null;
for await (const chunk of streamedCall) streamedReason = chunk.choices[0]?.finish_reason ?? streamedReason;
assert.equal(streamedReason, reason, 'streamed and whole agree');
ok('function-call round trip (first answer: ' + reason + ')');

await assert.rejects(client.chat.completions.create({ model: 'no-such-model', messages }),
  e => e instanceof OpenAI.NotFoundError && e.status === 404 && e.code === 'model_not_found');
await assert.rejects(client.chat.completions.create({ model, messages, temperature: -1 }),
  e => e instanceof OpenAI.BadRequestError && e.param === 'temperature');
ok('errors as OpenAI.APIError');
