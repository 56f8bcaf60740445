"""The web pages: server-rendered Jinja2 templates with a little JavaScript (htmx and a few
static scripts), standing on ``api.services`` and ``core`` (the same functions the API calls),
mounted at ``/`` by ``api.app.create_app`` (``web.app.install``).

Adding a page family (the student's are ``web/routers/student.py``):

- a router (``include_in_schema=False``) added in ``web.app.install``; a page takes ``PageUser``
  (``web.pages``: the logged-in user, else a redirect to /login?next=; it also picks the page's
  language) and returns ``web.templating.page(request, "x/y.html", {...})``;
- templates extend ``base.html`` (navigation, language switch, logout) and import
  ``_macros.html`` ``with context``; every text is ``{{ _("English") }}`` or
  ``{% trans name=... %}...{% endtrans %}`` with its Chinese in ``web/locale/zh.po``
  (``python scripts/write_po.py web/locale/zh.po pairs.json``; tests/grader/test_i18n.py fails
  without it); messages said in Python use ``core.i18n._`` (``core/locale/zh.po``);
- a link in the navigation: ``web.nav.add(nav.Link(_("Label"), href, shown_to))``;
- every form carries ``<input type="hidden" name="csrf_token" value="{{ csrf_token }}">``; htmx
  requests carry the ``X-CSRF-Token`` header (``static/js/app.js``); ``PageUser`` refuses an
  unsafe request without it (``api.sessions.check_csrf``), and a page without a user (login)
  takes ``dependencies=[Depends(api.sessions.check_csrf)]``;
- no inline script or style (the Content-Security-Policy forbids them): behaviour hangs on
  ``data-`` attributes read by a script in ``static/js/``; front-end packages come from npm
  (``web/package.json``, copied to ``static/vendor/`` by ``scripts/vendor-web``);
- a service error raised by a page renders as an error page in the user's language
  (``web.errors``); ``web.diff`` compares two uploads; ``web.markdown`` renders Markdown;
- tests: ``tests/web/conftest.py`` (``pages`` + ``course_people`` in process; ``stack``,
  ``browser``, ``log_in``, ``axe_check``, ``screenshot`` in a real browser).
"""
