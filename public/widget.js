/*
 * Switchboard chat widget. Paste on any page of a site listed in the
 * account's widget origins:
 *
 *   <script src="https://support.example.com/widget.js"
 *           data-support-type="billing" data-label="Chat with us" async></script>
 *
 * It adds a button in the corner that opens the chat page of that support
 * type in an iframe. The chat itself (messages, token, live link) stays on
 * the Switchboard origin; this script only places the frame.
 */
(function () {
  'use strict';
  var script = document.currentScript;
  if (!script) return;
  var slug = script.getAttribute('data-support-type');
  if (!slug) {
    console.error('Switchboard widget: data-support-type is missing');
    return;
  }
  var origin = new URL(script.src, window.location.href).origin;
  var label = script.getAttribute('data-label') || 'Chat with us';

  function style(el, rules) {
    for (var k in rules) el.style[k] = rules[k];
  }

  var frame = document.createElement('iframe');
  frame.src = origin + '/chat/' + encodeURIComponent(slug);
  frame.title = label;
  frame.id = 'switchboard-chat-frame';
  frame.setAttribute('allow', 'clipboard-write');
  frame.hidden = true;
  style(frame, {
    position: 'fixed', right: '16px', bottom: '84px', width: '380px', height: '600px',
    maxWidth: 'calc(100vw - 32px)', maxHeight: 'calc(100vh - 100px)', border: '0',
    borderRadius: '12px', boxShadow: '0 10px 30px rgba(15, 23, 42, 0.25)', background: '#fff',
    zIndex: '2147483000',
  });

  var button = document.createElement('button');
  button.type = 'button';
  button.textContent = label;
  button.setAttribute('aria-controls', frame.id);
  button.setAttribute('aria-expanded', 'false');
  style(button, {
    position: 'fixed', right: '16px', bottom: '16px', padding: '12px 18px', border: '0',
    borderRadius: '9999px', background: '#4f46e5', color: '#fff', font: '600 14px system-ui, sans-serif',
    cursor: 'pointer', boxShadow: '0 4px 14px rgba(79, 70, 229, 0.4)', zIndex: '2147483001',
  });
  button.addEventListener('click', function () {
    var open = frame.hidden;
    frame.hidden = !open;
    button.setAttribute('aria-expanded', String(open));
    button.textContent = open ? 'Close chat' : label;
    if (open) frame.focus();
  });
  document.addEventListener('keydown', function (e) {
    if (e.key === 'Escape' && !frame.hidden) {
      frame.hidden = true;
      button.setAttribute('aria-expanded', 'false');
      button.textContent = label;
      button.focus();
    }
  });

  function mount() {
    document.body.appendChild(frame);
    document.body.appendChild(button);
  }
  if (document.body) mount();
  else document.addEventListener('DOMContentLoaded', mount);
})();
