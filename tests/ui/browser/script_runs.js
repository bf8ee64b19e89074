// Keeps count of the script runs a page asks Streamlit for, so that a test can wait until
// every run it caused is over (tests/ui/screens.py, wait_until_idle), however slow the server.
//
// Streamlit's page shows no sign of a run it has asked for until the server answers: right
// after a click it still reads "notRunning". So the page's own messages are read here, on the
// WebSocket: each rerun request it sends, and each run the server says is over. Both are
// protobuf messages (streamlit/proto/BackMsg.proto, ForwardMsg.proto); only their field
// numbers are read. Runs cut short for another run do not count as over.
(() => {
  const RERUN_SCRIPT = 11;  // BackMsg.rerun_script
  const SCRIPT_FINISHED = 6;  // ForwardMsg.script_finished, an enum ScriptFinishedStatus
  const FINISHED_EARLY_FOR_RERUN = 2;
  const runs = { sequence: 0, requested: 0, finished: 0 };
  window.__ledgerlineScriptRuns = runs;

  function bytesOf(data) {
    if (data instanceof ArrayBuffer) return new Uint8Array(data);
    if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    return null;
  }

  function varint(bytes, at) {
    let value = 0;
    for (let shift = 0; at < bytes.length; shift += 7) {
      const byte = bytes[at++];
      value += (byte & 0x7f) * 2 ** shift;
      if (!(byte & 0x80)) return [value, at];
    }
    return [null, at];
  }

  // The top-level fields of a protobuf message: [field number, varint value or null].
  function* fields(bytes) {
    let at = 0;
    while (at < bytes.length) {
      let tag;
      [tag, at] = varint(bytes, at);
      if (tag === null) return;
      const wireType = tag & 7;
      let value = null;
      if (wireType === 0) [value, at] = varint(bytes, at);
      else if (wireType === 1) at += 8;
      else if (wireType === 5) at += 4;
      else if (wireType === 2) {
        let length;
        [length, at] = varint(bytes, at);
        if (length === null) return;
        at += length;
      } else return;  // groups: not used by Streamlit
      yield [Math.floor(tag / 8), value];
    }
  }

  // After the page has handled a message, its React state is drawn in a task queued after
  // this one; two more turns of the queue let that drawing happen before the run counts as over.
  function afterDrawing(callback) {
    const channel = new MessageChannel();
    let turns = 2;
    channel.port1.onmessage = () => (--turns ? channel.port2.postMessage(null) : callback());
    channel.port2.postMessage(null);
  }

  function received(event) {
    const bytes = bytesOf(event.data);
    if (!bytes) return;
    for (const [field, value] of fields(bytes)) {
      if (field === SCRIPT_FINISHED && value !== FINISHED_EARLY_FOR_RERUN) {
        const sequence = ++runs.sequence;
        afterDrawing(() => { runs.finished = Math.max(runs.finished, sequence); });
      }
    }
  }

  const listening = new WeakSet();
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (data) {
    if (!listening.has(this)) {  // after Streamlit's own listener, so it reads each message first
      listening.add(this);
      this.addEventListener("message", received);
    }
    const bytes = bytesOf(data);
    if (bytes) {
      for (const [field] of fields(bytes)) {
        if (field === RERUN_SCRIPT) runs.requested = ++runs.sequence;
      }
    }
    return send.call(this, data);
  };
})();
