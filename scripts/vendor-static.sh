#!/usr/bin/env bash
# Copies the front-end libraries from the installed Python packages into static/vendor/ and
# points plotly.js's two map-asset defaults (topojson, map icons) at local paths, so that no
# page can ever reach a CDN. The product draws no maps; those paths are never requested.
set -euo pipefail
cd "$(dirname "$0")/.."
site=$(${VENV:-.venv}/bin/python -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
cp "$site/plotly/package_data/plotly.min.js" static/vendor/plotly.min.js
cp "$site/django_htmx/static/django_htmx/htmx-2.min.js" static/vendor/htmx.min.js
sed -i \
  -e 's#https://cdn\.plot\.ly/un/#/static/vendor/plotly-topojson/#g' \
  -e 's#https://cdn\.jsdelivr\.net/npm/@mapbox/maki@8\.2\.0/icons/#/static/vendor/plotly-maki/#g' \
  static/vendor/plotly.min.js
if grep -qE 'https?://(cdn\.|unpkg|cdnjs|[a-z.]*jsdelivr)' static/vendor/*.js; then
  echo "a CDN address is left in static/vendor" >&2
  exit 1
fi
echo "static/vendor updated"
