// The 查阅申请 form (requests.html).
(function () {  // the validity runs the purpose's usual window (paper loans 14 days), from the start date
  const purpose = document.getElementById('purpose'), mode = document.getElementById('mode');
  const from = document.getElementById('valid-from'), until = document.getElementById('valid-until');
  function update() {
    let days = Number(purpose.selectedOptions[0].dataset.days);
    if (mode.value === 'paper_loan') days = Math.min(days, 14);
    const start = new Date(from.value + 'T00:00:00Z');
    if (isNaN(start)) return;
    start.setUTCDate(start.getUTCDate() + days - 1);
    until.value = start.toISOString().slice(0, 10);
  }
  [purpose, mode, from].forEach(f => f.addEventListener('change', update));
})();

