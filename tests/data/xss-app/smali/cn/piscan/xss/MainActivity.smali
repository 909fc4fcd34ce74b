.class public Lcn/piscan/xss/MainActivity;
.super Landroid/app/Activity;
.source "MainActivity.java"


# direct methods
.method public constructor <init>()V
    .registers 1

    invoke-direct {p0}, Landroid/app/Activity;-><init>()V

    return-void
.end method


# virtual methods
.method protected onCreate(Landroid/os/Bundle;)V
    .registers 5

    invoke-super {p0, p1}, Landroid/app/Activity;->onCreate(Landroid/os/Bundle;)V

    const-string v0, "<script>document.title='XSS'</script>"

    invoke-virtual {p0, v0}, Lcn/piscan/xss/MainActivity;->setTitle(Ljava/lang/CharSequence;)V

    const-string v0, "xss"

    const-string v1, "\"><img src=x onerror=alert(1)>"

    invoke-static {v0, v1}, Landroid/util/Log;->i(Ljava/lang/String;Ljava/lang/String;)I

    const-string v1, "</script><script>alert(document.domain)</script>"

    invoke-static {v0, v1}, Landroid/util/Log;->i(Ljava/lang/String;Ljava/lang/String;)I

    const-string v1, "javascript:alert(1)"

    invoke-static {v0, v1}, Landroid/util/Log;->i(Ljava/lang/String;Ljava/lang/String;)I

    const-string v1, "{{7*7}}${7*7}"

    invoke-static {v0, v1}, Landroid/util/Log;->i(Ljava/lang/String;Ljava/lang/String;)I

    const-string v1, "https://evil.example/path?q=\"><script>alert(3)</script>"

    invoke-static {v0, v1}, Landroid/util/Log;->i(Ljava/lang/String;Ljava/lang/String;)I

    # a reflection target: looks like a class name, carries an attribute break-out payload
    const-string v1, "cn.piscan.xss.Loader\"onmouseover=\"alert(4)"

    :try_start_reflect
    invoke-static {v1}, Ljava/lang/Class;->forName(Ljava/lang/String;)Ljava/lang/Class;
    :try_end_reflect
    .catch Ljava/lang/ClassNotFoundException; {:try_start_reflect .. :try_end_reflect} :catch_reflect

    :catch_reflect
    return-void
.end method
