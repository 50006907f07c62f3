// Keyboard review (the queue page): j/k next and previous, a accept, A accept and add to
// the dataset, r reject (arrows or 1-6 pick the reason, Enter rejects), e edit (Ctrl+Enter
// saves), u undo, / search, ? the keys. Each key clicks or focuses the element marked
// data-review-key="<key>", so the page works the same with plain forms and links when
// this file does not run, and with htmx (hx-boost) when it does. A script file, not an
// inline handler: the Content-Security-Policy allows scripts from this site only.
(function () {
  "use strict";

  function typing(el) {
    if (!el || !el.tagName) { return false; }
    var tag = el.tagName.toLowerCase();
    return tag === "input" || tag === "textarea" || tag === "select" || el.isContentEditable;
  }

  function marked(key) {
    return document.querySelector('[data-review-key="' + key + '"]');
  }

  function toggleKeys(show) {
    var box = document.getElementById("review-keys");
    if (!box) { return; }
    box.hidden = show === undefined ? !box.hidden : !show;
  }

  function submit(form) {
    if (form.requestSubmit) { form.requestSubmit(); } else { form.submit(); }
  }

  function reasonKey(event, el) {
    // In the reasons list: 1-6 choose a reason, Enter rejects.
    var form = el.form;
    if (event.key === "Enter") {
      event.preventDefault();
      submit(form);
      return;
    }
    if (/^[1-9]$/.test(event.key)) {
      var radios = form.querySelectorAll('input[type="radio"][name="reason"]');
      var pick = radios[Number(event.key) - 1];
      if (pick) {
        event.preventDefault();
        pick.checked = true;
        pick.focus();
      }
    }
  }

  document.addEventListener("keydown", function (event) {
    if (!document.getElementById("review")) { return; }
    var el = event.target;
    if ((event.ctrlKey || event.metaKey) && event.key === "Enter") {
      var form = el && el.closest ? el.closest("form[data-review-form]") : null;
      if (form) {
        event.preventDefault();
        submit(form);
      }
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (event.key === "Escape") {
      toggleKeys(false);
      if (typing(el)) { el.blur(); }
      return;
    }
    if (typing(el)) {
      if (el.type === "radio" && el.name === "reason") { reasonKey(event, el); }
      return;
    }
    if (event.key === "?") {
      event.preventDefault();
      toggleKeys();
      return;
    }
    if (event.key === "/") {
      var search = document.getElementById("review-q");
      if (search) {
        event.preventDefault();
        search.focus();
      }
      return;
    }
    var target = marked(event.key);
    if (!target) { return; }
    event.preventDefault();
    if (typing(target)) {
      var panel = target.closest("details");
      if (panel) { panel.open = true; }
      target.focus();
      if (target.tagName.toLowerCase() === "textarea" && target.select) { target.select(); }
    } else {
      target.click();
    }
  });

  // After htmx swapped the page (a decision or j/k), bring the item in focus into view.
  // htmx gives the focus back to the field of the same id on the new page: after a
  // decision that field belongs to the next item and would swallow the next key. So the
  // field in focus is left before the swap (not after it, when a key may already have
  // put the focus somewhere on purpose). Only for a new page (boosted: the body is
  // swapped); the filter counts that arrive afterwards leave the focus alone.
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (!event.detail || event.detail.target !== document.body) { return; }
    var active = document.activeElement;
    if (active && active.closest && active.closest("#focus")) { active.blur(); }
  });

  document.addEventListener("htmx:afterSettle", function () {
    var row = document.querySelector(".review-list tr.focused");
    if (row && row.scrollIntoView) { row.scrollIntoView({block: "nearest"}); }
  });
})();
