// Junction console: our one small script. Everything works without it (plain forms, POST
// then redirect); it adds the selection toolbar, tabs, "Checking credentials…" and live
// updates of jobs by polling the console's JSON endpoints.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function $(sel, root) { return (root || document).querySelector(sel); }
  function $$(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }

  // Connections list: the editing toolbar appears when rows are selected.
  var bulk = $("#bulk-form");
  if (bulk) {
    var toolbar = $("#bulk-toolbar"), count = $("#selected-count"), all = $("#select-all");
    var boxes = $$("input[name=id]", bulk);
    var update = function () {
      var n = boxes.filter(function (b) { return b.checked; }).length;
      toolbar.hidden = n === 0;
      count.textContent = n === 1 ? "1 selected" : n + " selected";
      boxes.forEach(function (b) { b.closest("tr").classList.toggle("selected", b.checked); });
      if (all) { all.checked = n > 0 && n === boxes.length; all.indeterminate = n > 0 && n < boxes.length; }
    };
    boxes.forEach(function (b) { b.addEventListener("change", update); });
    if (all) {
      all.addEventListener("change", function () {
        boxes.forEach(function (b) { b.checked = all.checked; });
        update();
      });
    }
    update();
  }

  // Forms that check something remotely say so while the server works.
  $$("form[data-checking]").forEach(function (form) {
    var busy = false;
    form.addEventListener("submit", function (ev) {
      var submitter = ev.submitter;
      if (submitter && submitter.name === "step") { return; }
      if (busy) { ev.preventDefault(); return; }
      busy = true;
      var status = $(".form-status", form);
      if (status) {
        status.textContent = form.getAttribute("data-checking") || "Checking credentials…";
        status.classList.add("checking");
      }
      $$("button[type=submit]", form).forEach(function (b) { b.setAttribute("aria-disabled", "true"); });
    });
  });

  // Choosing another driver shows its fields at once.
  var driverSelect = $("select[data-driver-select]");
  if (driverSelect) {
    driverSelect.addEventListener("change", function () {
      var btn = $("#show-fields");
      if (driverSelect.form.requestSubmit) { driverSelect.form.requestSubmit(btn); } else { btn.click(); }
    });
  }

  // The flow form: choosing another source or target entity shows its attributes at once.
  $$("select[data-refresh]").forEach(function (sel) {
    sel.addEventListener("change", function () {
      var btn = $("#refresh-table");
      if (sel.form.requestSubmit) { sel.form.requestSubmit(btn); } else { btn.click(); }
    });
  });

  // Tabs of the edit form: without script both panels show one under the other.
  var tablist = $(".connection-form [role=tablist]");
  if (tablist) {
    var tabs = $$("[role=tab]", tablist);
    var show = function (tab, focus) {
      tabs.forEach(function (t) {
        var on = t === tab;
        t.setAttribute("aria-selected", on ? "true" : "false");
        t.tabIndex = on ? 0 : -1;
        var panel = document.getElementById(t.getAttribute("aria-controls"));
        panel.hidden = !on;
        panel.setAttribute("data-tabbed", "");
      });
      if (focus) { tab.focus(); }
    };
    tabs.forEach(function (t, i) {
      t.addEventListener("click", function (ev) { ev.preventDefault(); show(t, false); });
      t.addEventListener("keydown", function (ev) {
        var d = ev.key === "ArrowRight" ? 1 : ev.key === "ArrowLeft" ? -1 : 0;
        if (d) { ev.preventDefault(); show(tabs[(i + d + tabs.length) % tabs.length], true); }
      });
    });
    // Open the tab holding the first field with an error, else the first tab.
    var invalid = $(".connection-form .field.invalid");
    var start = tabs[0];
    if (invalid) {
      var panel = invalid.closest(".tab-panel");
      tabs.forEach(function (t) { if (t.getAttribute("aria-controls") === panel.id) { start = t; } });
    }
    show(start, false);
  }

  // Live job updates.
  function getJSON(url, done) {
    var xhr = new XMLHttpRequest();
    xhr.open("GET", url);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.onload = function () {
      if (xhr.status === 401) { window.location.reload(); return; }
      if (xhr.status === 200) { try { done(JSON.parse(xhr.responseText)); } catch (e) { /* keep the page as is */ } }
    };
    xhr.send();
  }
  function counters(j) {
    var c = j.counters;
    if (j.kind === "flow") {
      return c.read + " considered · " + (c.inserted + c.updated) + " written · " + c.skipped + " skipped · " + c.failed + " failed";
    }
    return c.read + " read · " + c.inserted + " new · " + c.updated + " changed · " + c.unchanged + " unchanged · " + c.gone + " gone";
  }
  function fillJob(root, j) {
    var set = function (f, fn) { var el = $("[data-f=" + f + "]", root); if (el) { fn(el); } };
    set("state", function (el) { el.textContent = j.state; el.className = "state " + j.state; });
    set("counters", function (el) { el.textContent = counters(j); });
    set("elapsed", function (el) { el.textContent = j.elapsed; });
    set("attempts", function (el) { el.textContent = j.attempts + " / " + j.max_attempts; });
    set("bar", function (el) {
      if (j.percent >= 0) { el.value = j.percent; } else { el.removeAttribute("value"); }
    });
    set("error", function (el) { el.textContent = j.error || ""; el.hidden = !j.error; });
    if (j.finished) { set("cancel", function (el) { el.remove(); }); }
  }
  function setRunning(n) {
    var el = $("#running-count");
    if (el) {
      el.textContent = n;
      el.closest(".jobs-button").classList.toggle("busy", n > 0);
    }
  }

  var jobsTable = $("#jobs-table");
  var detail = $("#job-detail");
  if (jobsTable) {
    var pollList = function () {
      getJSON(jobsTable.getAttribute("data-live"), function (data) {
        setRunning(data.running);
        var known = {};
        $$("tr[data-job]", jobsTable).forEach(function (tr) { known[tr.getAttribute("data-job")] = tr; });
        var fresh = false;
        (data.jobs || []).forEach(function (j) {
          var tr = known[String(j.id)];
          if (tr) { fillJob(tr, j); } else { fresh = true; }
        });
        if (fresh) { window.location.reload(); return; }
        window.setTimeout(pollList, 1000);
      });
    };
    window.setTimeout(pollList, 1000);
  } else if (detail) {
    var log = $("#job-log");
    var pollJob = function () {
      getJSON(detail.getAttribute("data-live"), function (data) {
        fillJob(detail, data.job);
        log.innerHTML = "";
        data.log.forEach(function (l) {
          var li = document.createElement("li");
          li.className = l.level;
          var t = document.createElement("time");
          t.textContent = l.at.replace("T", " ").replace(/\.\d+/, "").replace("Z", " UTC");
          var lvl = document.createElement("span");
          lvl.className = "lvl";
          lvl.textContent = l.level;
          li.appendChild(t);
          li.appendChild(document.createTextNode(" "));
          li.appendChild(lvl);
          li.appendChild(document.createTextNode(" " + l.message));
          log.appendChild(li);
        });
        if (!data.job.finished) { window.setTimeout(pollJob, 1000); }
      });
    };
    if (detail.getAttribute("data-finished") !== "true") { window.setTimeout(pollJob, 1000); }
  }
  // Every other page keeps the header's running count fresh.
  if (!jobsTable && $("#running-count")) {
    var pollCount = function () {
      getJSON("/processes.json", function (data) { setRunning(data.running); window.setTimeout(pollCount, 3000); });
    };
    window.setTimeout(pollCount, 3000);
  }
})();
