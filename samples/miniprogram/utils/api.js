// Tiny request helper; the collection host is a first-party domain.
const BASE = 'https://api.piscan-demo.cn/v1'

function report(kind, value) {
  wx.request({
    url: 'https://collect.piscan-demo.cn/report',
    method: 'POST',
    data: { kind, value }
  })
}

module.exports = { BASE, report }
