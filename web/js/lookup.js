// The supervision lookup on the home page: a case number or a device ID → its page.
const go = (formId, inputId, prefix) => {
  const form = document.getElementById(formId);
  if (!form) return;
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const v = document.getElementById(inputId).value.trim();
    if (v) location.assign(`${prefix}${encodeURIComponent(v)}`);
  });
};

export function initLookup() {
  go('case-lookup', 'case-input', '/cases/');
  go('device-lookup', 'device-input', '/devices/');
}
