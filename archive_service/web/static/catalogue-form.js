// The 卷内目录 form on the dossier page: Enter moves on, a usual title fills in its class.
(function () {
  const body = document.getElementById('catalogue-rows');
  const classOf = {};
  document.querySelectorAll('#material-titles option').forEach(o => { classOf[o.value] = o.dataset.class; });
  body.addEventListener('keydown', function (e) {
    if (e.key !== 'Enter' || e.target.tagName !== 'INPUT') return;
    e.preventDefault();  // Enter moves on; the button saves
    const row = e.target.closest('tr');
    const fields = Array.from(row.querySelectorAll('input:not([type=hidden])'));
    const i = fields.indexOf(e.target);
    if (i < fields.length - 1) { fields[i + 1].focus(); fields[i + 1].select(); return; }  // typing replaces a default
    let next = row.nextElementSibling;
    if (!next) {
      next = row.cloneNode(true);
      next.querySelectorAll('input').forEach(f => { f.value = f.name === 'copies' ? '1' : ''; f.removeAttribute('aria-invalid'); f.classList.remove('bad'); });
      next.querySelector('td').firstChild.textContent = body.rows.length + 1;
      body.appendChild(next);
    }
    const target = next.querySelector('input:not([type=hidden])');
    target.focus();
    target.select();
  });
  body.addEventListener('change', function (e) {  // a usual title fills in its class
    if (e.target.name !== 'title') return;
    const code = e.target.closest('tr').querySelector('input[name=class_code]');
    if (!code.value && classOf[e.target.value]) code.value = classOf[e.target.value];
  });
})();

