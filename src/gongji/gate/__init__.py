"""The HTTP edge shared by the REST API (``api``) and the pages (``web``): who is calling
(sessions, signed institutions, CSRF), body limits, the problem+json error format and the
login queue. ``api`` and ``web`` both build on it and never import each other; ``gongji.app``
puts them together."""
