"""The API's one description: input specs the handlers validate with, and the OpenAPI document
generated from them (``document.build_document``)."""
