// Generation with a sliding context window: the run file's generate()
// (model_export/run.py), one step at a time, so greedy output in the page
// equals `python run.py`. The demos choose each token themselves (sampling.js)
// and hand it to append().

export class Generation {
  // window: how many tokens the model may see (default and maximum: block_size).
  constructor(model, promptIds, { window } = {}) {
    this.model = model;
    this.window = Math.max(2, Math.min(window || model.blockSize, model.blockSize));
    this.emptyPrompt = promptIds.length === 0;
    // An empty prompt starts where every training document starts: after <|endoftext|>.
    const prompt = this.emptyPrompt ? [model.eotId] : [...promptIds];
    this.prompt = prompt;
    const keep = this.window - 1; // room for one generated token before the first slide
    this.truncated = prompt.length > keep ? prompt.slice(0, prompt.length - keep) : [];
    this.context = prompt.slice(this.truncated.length);
    this.dropped = [...this.truncated]; // every token the model no longer sees, oldest first
    this.generated = [];
    this.logits = null;
  }

  // All tokens so far (prompt + generated), and how many of the first ones are out of view.
  get all() {
    return [...this.prompt, ...this.generated];
  }

  get hidden() {
    return this.dropped.length;
  }

  async prefill(opts = {}) {
    const r = await this.model.run(this.context, this.model.emptyPast(), opts.attention);
    this.past = r.present;
    return r;
  }

  async start(opts) {
    const r = await this.prefill(opts);
    this.logits = r.logits;
    this.lastPass = { kind: "prefill", tokens: this.context.length, ms: r.ms };
    return r;
  }

  // Append the chosen token; returns the forward pass's result, with slid = the tokens
  // that fell out of the window at this step ([] if none).
  async append(id, opts) {
    this.generated.push(id);
    this.context.push(id);
    let slid = [];
    let r;
    if (this.context.length > this.window) {
      const keep = this.window - 1;
      slid = this.context.slice(0, this.context.length - keep);
      this.context = this.context.slice(this.context.length - keep);
      this.dropped.push(...slid);
      r = await this.prefill(opts); // re-read the window from scratch
      this.lastPass = { kind: "prefill", tokens: this.context.length, ms: r.ms };
    } else {
      r = await this.model.run([id], this.past, opts?.attention);
      this.past = r.present;
      this.lastPass = { kind: "step", tokens: 1, ms: r.ms };
    }
    this.logits = r.logits;
    r.slid = slid;
    return r;
  }
}
