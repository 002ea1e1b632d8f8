from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.staticfiles.views import serve
from django.urls import include, path, re_path
from django.views.generic import TemplateView

urlpatterns = [
    path("", TemplateView.as_view(template_name="example_site/home.html"), name="home"),
    path("graphql/", include("chunked_graphql.urls")),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
]

# The site serves the apps' static files (the uploader's scripts, GraphiQL's) also when DEBUG is
# off, e.g. under gunicorn, so the demo needs neither collectstatic nor a web server in front. A
# real project serves static files its usual way (collectstatic, then its web server or
# WhiteNoise).
urlpatterns += [re_path(r"^static/(?P<path>.*)$", serve, {"insecure": True})]
