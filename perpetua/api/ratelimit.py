"""Rate limiting (filled in by the foundation issue)."""

from rest_framework.throttling import BaseThrottle


class BucketRateLimit(BaseThrottle):
    def allow_request(self, request, view):
        return True


class RateLimitHeadersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)
