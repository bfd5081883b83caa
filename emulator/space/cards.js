// Cards as Webex shows them: Microsoft's Adaptive Cards renderer, Webex's schema version (1.3),
// a Webex-like host config, markdown in TextBlocks by markdown-it.
//
// Every warning the renderer gives while parsing, validating or rendering a card is kept in
// window.cardWarnings ({messageId, text}); the browser tests assert it stays empty.
(function () {
  "use strict";

  window.cardWarnings = [];
  const AC = window.AdaptiveCards;
  if (!AC || !window.markdownit) {
    window.SpaceCards = null;
    return;
  }

  const markdown = window.markdownit({ html: false, linkify: true, breaks: true });
  AC.AdaptiveCard.onProcessMarkdown = (text, result) => {
    result.outputHtml = markdown.render(text);
    result.didProcess = true;
  };
  const hostConfig = new AC.HostConfig(window.WEBEX_HOST_CONFIG);
  const WEBEX_SCHEMA = AC.Versions.v1_3;

  function eventText(event) {
    const name = AC.ValidationEvent ? AC.ValidationEvent[event.event] : event.event;
    return `${name}: ${event.message}`;
  }

  // While fn runs, console warnings and errors are the renderer's: keep them as card warnings.
  function capturingConsole(warn, fn) {
    const saved = { warn: console.warn, error: console.error };
    console.warn = (...args) => { warn(`console.warn: ${args.join(" ")}`); saved.warn(...args); };
    console.error = (...args) => { warn(`console.error: ${args.join(" ")}`); saved.error(...args); };
    try {
      return fn();
    } finally {
      console.warn = saved.warn;
      console.error = saved.error;
    }
  }

  // What a Webex client submits: every input's value as a string ("" when empty), with the
  // action's data merged in; no inputs when the action says associatedInputs: none.
  function submittedInputs(card, action, source) {
    const data = source && source.data && typeof source.data === "object" ? source.data : {};
    const inputs = Object.assign({}, data);
    if (action.associatedInputs === "none") return inputs;
    for (const input of card.getAllInputs()) {
      if (!input.id) continue;
      const value = input.value;
      const empty = value === undefined || value === null || (typeof value === "number" && isNaN(value));
      inputs[input.id] = empty ? "" : String(value);
    }
    return inputs;
  }

  // Parse, validate and render one card; returns its element (null when nothing rendered).
  function render(content, { messageId, onSubmit }) {
    const warn = (text) => window.cardWarnings.push({ messageId, text });
    const card = new AC.AdaptiveCard();
    card.hostConfig = hostConfig;
    const sources = new WeakMap();
    const context = new AC.SerializationContext(WEBEX_SCHEMA);
    context.onParseAction = (action, source) => sources.set(action, source);
    const element = capturingConsole(warn, () => {
      card.parse(content, context);
      for (let i = 0; i < context.eventCount; i++) warn(eventText(context.getEventAt(i)));
      for (const event of card.validateProperties().validationEvents) warn(eventText(event));
      return card.render();
    });
    card.onExecuteAction = (action) => {
      const type = action.getJsonTypeName();
      if (type === "Action.Submit") {
        onSubmit(submittedInputs(card, action, sources.get(action)), action.title || "");
      } else if (type === "Action.OpenUrl") {
        window.open(action.url, "_blank", "noopener");
      } else {
        warn(`unsupported action ${type}`);
      }
    };
    return element || null;
  }

  window.SpaceCards = { render };
})();
