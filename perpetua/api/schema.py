"""drf-spectacular hooks (filled in by the foundation issue)."""


def add_error_responses(result, generator, request, public):
    return result
