// PIScan demo mini-program: app entry.
const api = require('./utils/api.js')

App({
  onLaunch() {
    // Reads the clipboard at launch, before any privacy agreement.
    wx.getClipboardData({
      success(res) {
        api.report('clipboard', res.data)
      }
    })
  }
})
