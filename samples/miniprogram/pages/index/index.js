const api = require('../../utils/api.js')

Page({
  data: { city: '' },

  onLoad() {
    // getLocation is used but app.json's requiredPrivateInfos does not list it.
    const w = wx
    w.getLocation({
      type: 'gcj02',
      success: (res) => {
        api.report('location', res.latitude + ',' + res.longitude)
      }
    })
  },

  // The text "wx.getLocation(" in this comment and the string below is not a call.
  hint() {
    return 'call wx.getLocation( to locate'
  },

  onGetPhoneNumber(e) {
    api.report('phone_code', e.detail.code)
  }
})
